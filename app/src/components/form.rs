//! Form building blocks: a labelled field with its own error message, the form's own
//! errors, and a submit button that is disabled while the form is being sent.

use leptos::prelude::*;

use crate::api::AppError;

/// The message for `field` from the last result of an action (`action.value()`).
pub fn field_error<T, S>(value: S, field: &'static str) -> Signal<Option<String>>
where
    S: With<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    Signal::derive(move || value.with(|v| v.as_ref().and_then(|r| r.as_ref().err()?.field(field))))
}

/// The messages of the last result of an action that belong to no shown field.
pub fn form_errors<T, S>(value: S, shown_fields: &'static [&'static str]) -> Signal<Vec<String>>
where
    S: With<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(error)) => error.form_messages(shown_fields),
            _ => Vec::new(),
        })
    })
}

/// A labelled input; its error is announced to screen readers and tied to the input.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] step: Option<&'static str>,
    #[prop(optional)] min: Option<&'static str>,
    #[prop(optional)] autofocus: bool,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let describedby = if hint.is_some() {
        format!("{hint_id} {error_id}")
    } else {
        error_id.clone()
    };
    view! {
        <div class="field" class:has-error=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=value
                step=step
                min=min
                autofocus=autofocus
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=describedby
            />
            {hint.map(|hint| view! { <p class="field-hint" id=hint_id>{hint}</p> })}
            <p class="field-error" id=error_id aria-live="polite">
                {move || error.get()}
            </p>
        </div>
    }
}

/// Errors about the whole form.
#[component]
pub fn FormErrors(#[prop(into)] errors: Signal<Vec<String>>) -> impl IntoView {
    view! {
        <div class="form-errors" role="alert" aria-live="assertive">
            <Show when=move || errors.with(|e| !e.is_empty())>
                <ul>
                    {move || errors.get().into_iter().map(|message| view! { <li>{message}</li> }).collect_view()}
                </ul>
            </Show>
        </div>
    }
}

/// The submit button; disabled and relabelled while the action runs.
#[component]
pub fn SubmitButton(
    #[prop(into)] label: String,
    pending_label: &'static str,
    #[prop(into)] pending: Signal<bool>,
) -> impl IntoView {
    view! {
        <button type="submit" class="button primary" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
            {move || if pending.get() { pending_label.to_owned() } else { label.clone() }}
        </button>
    }
}
