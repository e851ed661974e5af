//! The Grafana dashboard (`deploy/grafana/gittix.json`) and the Kubernetes manifests
//! (`deploy/k8s/`) agree with the metrics of `telemetry::metrics`: the dashboard queries
//! every metric of [`NAMES`] and no other, each panel on the datasource variable; every
//! GitTix pod is annotated for Prometheus on the port that serves `/metrics` (the HTTP port
//! of the backend services, `METRICS_PORT` 9464 of the processes facing the public), and
//! only Prometheus reaches a separate metrics port, which no Service exposes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use telemetry::metrics::NAMES;

/// The metrics port of the processes whose main port faces the public.
const METRICS_PORT: u64 = 9464;

/// The workloads that must be scraped.
const SCRAPED: &[&str] = &["auth", "tickets", "orders", "expiration", "payments", "web"];

/// The beginnings of the metric names, which no PromQL function, label or keyword has.
const PREFIXES: &[&str] = &[
    "http_",
    "events_",
    "event_",
    "dead_",
    "outbox_",
    "expirations_",
    "payment_",
];

/// The series a histogram is stored as.
const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

fn repo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../")).to_path_buf()
}

fn dashboard() -> Value {
    let path = repo().join("deploy/grafana/gittix.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every panel, those in rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn collect<'a>(panels: &'a Value, into: &mut Vec<&'a Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            into.push(panel);
            collect(&panel["panels"], into);
        }
    }
    let mut all = Vec::new();
    collect(&dashboard["panels"], &mut all);
    all
}

fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

/// The metric names an expression queries: its identifiers that begin like a metric, a
/// histogram's `_bucket`, `_sum` and `_count` series as the histogram. Quoted strings
/// (label values) are left out.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut unquoted = String::new();
    let mut quote = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '"' | '\'' | '`') => {
                quote = Some(c);
                unquoted.push(' ');
            }
            None => unquoted.push(c),
        }
    }
    unquoted
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|token| PREFIXES.iter().any(|p| token.starts_with(p)))
        .map(|token| {
            // Only a histogram (the `_seconds` metrics) has these series.
            HISTOGRAM_SUFFIXES
                .iter()
                .filter_map(|suffix| token.strip_suffix(suffix))
                .find(|base| base.ends_with("_seconds"))
                .unwrap_or(token)
                .to_owned()
        })
        .collect()
}

#[test]
fn metric_names_are_read_from_expressions() {
    let names = metric_names(
        "histogram_quantile(0.95, sum by (consumer, le) (rate(event_handler_duration_seconds_bucket\
         {process=~\"$process\", consumer=\"events_x\"}[5m]))) / sum(http_requests_total_count) \
         + outbox_backlog",
    );
    let expected = [
        "event_handler_duration_seconds",
        "http_requests_total_count",
        "outbox_backlog",
    ];
    assert_eq!(names, expected.iter().map(|n| n.to_string()).collect());
}

#[test]
fn the_dashboard_queries_every_metric_and_no_other() {
    let dashboard = dashboard();
    let mut used = BTreeSet::new();
    for panel in panels(&dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a target without expr", panel["title"]));
            let names = metric_names(expr);
            assert!(
                !names.is_empty(),
                "{}: {expr} queries no metric",
                panel["title"]
            );
            used.extend(names);
        }
    }
    let known: BTreeSet<String> = NAMES.iter().map(|n| n.to_string()).collect();
    let unknown: BTreeSet<&String> = used.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "metrics no process records: {unknown:?}"
    );
    let unused: BTreeSet<&String> = known.difference(&used).collect();
    assert!(unused.is_empty(), "metrics no panel shows: {unused:?}");

    // The template variables' queries too.
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        let query = match &variable["query"] {
            Value::Object(query) => query["query"].as_str().unwrap_or_default(),
            query => query.as_str().unwrap_or_default(),
        };
        for name in metric_names(query) {
            assert!(known.contains(&name), "{}: {name}", variable["name"]);
        }
    }
}

#[test]
fn every_panel_has_a_title_and_queries_the_datasource_variable() {
    let dashboard = dashboard();
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let variable = |name: &str| {
        variables
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no {name} variable"))
    };
    let datasource = variable("datasource");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");
    let process = variable("process");
    assert_eq!(process["type"], "query");
    assert_eq!(
        process["definition"],
        "label_values(http_requests_total, process)"
    );
    assert_eq!(process["datasource"]["uid"], "${datasource}");

    let panels = panels(&dashboard);
    assert!(panels.iter().filter(|p| !is_row(p)).count() >= 10);
    let mut ids = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or_default();
        assert!(!title.trim().is_empty(), "a panel without a title: {panel}");
        assert!(ids.insert(panel["id"].as_u64()), "{title}: the id is taken");
        if is_row(panel) {
            continue;
        }
        let description = panel["description"].as_str().unwrap_or_default();
        assert!(!description.trim().is_empty(), "{title}: no description");
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{title}");
            let expr = target["expr"].as_str().unwrap_or_default();
            assert!(
                expr.contains("process=~\"$process\""),
                "{title}: {expr} ignores the process variable"
            );
        }
    }
}

/// Every document of every manifest in deploy/k8s.
fn manifests() -> Vec<(String, Value)> {
    let dir = repo().join("deploy/k8s");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "yaml")
                && path.file_name().is_some_and(|n| n != "kustomization.yaml")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut documents = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut chunk = String::new();
        for line in text.lines().chain(["---"]) {
            if line.trim_end() == "---" {
                let value: Value =
                    serde_yaml_ng::from_str(&chunk).unwrap_or_else(|e| panic!("{file}: {e}"));
                if !value.is_null() {
                    documents.push((file.clone(), value));
                }
                chunk.clear();
            } else {
                chunk.push_str(line);
                chunk.push('\n');
            }
        }
    }
    documents
}

/// A workload running a GitTix image: its name, pod template and GitTix container.
struct Workload<'a> {
    name: String,
    template: &'a Value,
    container: &'a Value,
}

impl Workload<'_> {
    fn image(&self) -> &str {
        self.container["image"].as_str().unwrap()
    }

    fn env(&self, name: &str) -> Option<&str> {
        self.container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == name)
            .and_then(|v| v["value"].as_str())
    }

    /// Whether it runs the ingress program or the web server, whose main port faces the
    /// public: those serve `/metrics` on `METRICS_PORT` only.
    fn faces_the_public(&self) -> bool {
        let runs_ingress = self.image() == "gittix/ingress"
            || self.env("GITTIX_SERVICE") == Some("ingress")
            || self.container["args"]
                .as_array()
                .is_some_and(|args| args.first().and_then(Value::as_str) == Some("ingress"));
        self.image() == "gittix/web" || runs_ingress
    }

    fn labels(&self) -> BTreeMap<String, String> {
        labels(&self.template["metadata"]["labels"])
    }

    /// The container port named `name`.
    fn port_named(&self, name: &str) -> Option<u64> {
        self.container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
    }

    /// The port `/metrics` is served on: `METRICS_PORT` for the processes facing the
    /// public, the HTTP port (the probes') for the others.
    fn metrics_port(&self) -> u64 {
        if self.faces_the_public() {
            METRICS_PORT
        } else {
            let probe = self.container["readinessProbe"]["httpGet"]["port"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a readiness probe on a named port", self.name));
            self.port_named(probe)
                .unwrap_or_else(|| panic!("{}: no container port {probe}", self.name))
        }
    }
}

fn labels(object: &Value) -> BTreeMap<String, String> {
    object
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// Whether a selector (matchLabels only) selects these labels.
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    assert!(selector["matchExpressions"].is_null(), "{selector}");
    selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str())
}

/// The long-running workloads that run a GitTix image (not the one-shot setup Job).
fn workloads(manifests: &[(String, Value)]) -> Vec<Workload<'_>> {
    manifests
        .iter()
        .filter(|(_, m)| {
            matches!(
                m["kind"].as_str(),
                Some("Deployment" | "StatefulSet" | "DaemonSet")
            )
        })
        .filter_map(|(file, m)| {
            let template = &m["spec"]["template"];
            let container = template["spec"]["containers"]
                .as_array()?
                .iter()
                .find(|c| {
                    c["image"]
                        .as_str()
                        .is_some_and(|i| i.starts_with("gittix/"))
                })?;
            Some(Workload {
                name: format!("{file}: {} {}", m["kind"], m["metadata"]["name"]),
                template,
                container,
            })
        })
        .collect()
}

#[test]
fn every_gittix_pod_is_annotated_for_prometheus_on_its_metrics_port() {
    let manifests = manifests();
    let workloads = workloads(&manifests);
    let mut scraped = BTreeSet::new();
    for workload in &workloads {
        let name = &workload.name;
        let annotations = &workload.template["metadata"]["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{name}");
        assert_eq!(annotations["prometheus.io/path"], "/metrics", "{name}");
        let port = workload.metrics_port();
        assert_eq!(
            annotations["prometheus.io/port"],
            port.to_string(),
            "{name}: /metrics is on port {port}"
        );
        if workload.faces_the_public() {
            assert_eq!(workload.env("METRICS_PORT"), Some("9464"), "{name}");
            assert_eq!(workload.port_named("metrics"), Some(METRICS_PORT), "{name}");
            // The first port stays the site's (the probes', the Service's).
            assert_ne!(
                workload.container["ports"][0]["name"], "metrics",
                "{name}: the metrics port comes after the site's"
            );
        } else {
            assert_eq!(
                workload.env("METRICS_PORT"),
                None,
                "{name}: a backend service serves /metrics on its HTTP port"
            );
        }
        scraped.insert(workload.labels().get("app").cloned().unwrap_or_default());
    }
    for app in SCRAPED {
        assert!(
            scraped.contains(*app),
            "{app}: no workload runs it with a GitTix image"
        );
    }
}

#[test]
fn only_prometheus_reaches_the_metrics_ports() {
    let manifests = manifests();
    let workloads = workloads(&manifests);
    let of_kind = |kind: &'static str| {
        manifests
            .iter()
            .filter(move |(_, m)| m["kind"] == kind)
            .map(|(_, m)| m)
    };

    // No Service or Ingress exposes a separate metrics port.
    for service in of_kind("Service") {
        for port in service["spec"]["ports"].as_array().into_iter().flatten() {
            for key in ["port", "targetPort"] {
                assert!(
                    port[key] != "metrics" && port[key].as_u64() != Some(METRICS_PORT),
                    "Service {} exposes the metrics port",
                    service["metadata"]["name"]
                );
            }
        }
    }
    for ingress in of_kind("Ingress") {
        let text = ingress.to_string();
        assert!(
            !text.contains(&METRICS_PORT.to_string()) && !text.contains("\"metrics\""),
            "Ingress {} routes to the metrics port",
            ingress["metadata"]["name"]
        );
    }

    let prometheus = serde_json::json!({
        "namespaceSelector": {},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    });
    for workload in &workloads {
        let name = &workload.name;
        let labels = workload.labels();
        let port = workload.metrics_port();
        // Whether a rule's port is the metrics port, by number or by name.
        let is_metrics_port = |rule_port: &Value| match &rule_port["port"] {
            Value::Number(n) => n.as_u64() == Some(port),
            Value::String(name) => workload.port_named(name) == Some(port),
            _ => true,
        };
        let rules: Vec<&Value> = of_kind("NetworkPolicy")
            .filter(|p| selects(&p["spec"]["podSelector"], &labels))
            .filter(|p| {
                p["spec"]["policyTypes"]
                    .as_array()
                    .is_some_and(|types| types.iter().any(|t| t == "Ingress"))
            })
            .flat_map(|p| p["spec"]["ingress"].as_array().into_iter().flatten())
            .collect();
        let scraper_rule = rules.iter().find(|rule| {
            rule["from"]
                .as_array()
                .is_some_and(|from| from.contains(&prometheus))
                && rule["ports"]
                    .as_array()
                    .is_some_and(|ports| ports.iter().any(is_metrics_port))
        });
        let scraper_rule =
            scraper_rule.unwrap_or_else(|| panic!("{name}: Prometheus may not scrape port {port}"));
        assert_eq!(
            scraper_rule["from"].as_array().unwrap().len(),
            1,
            "{name}: the scraper's rule lets in others too"
        );
        let ports = scraper_rule["ports"].as_array().unwrap();
        assert!(
            ports.iter().all(is_metrics_port),
            "{name}: the scraper's rule opens more than port {port}"
        );
        if workload.faces_the_public() {
            // Nothing else reaches a port kept for the scraper.
            for rule in &rules {
                let opens_it = rule["ports"]
                    .as_array()
                    .is_none_or(|ports| ports.is_empty() || ports.iter().any(is_metrics_port));
                assert!(
                    !opens_it || std::ptr::eq(*rule, *scraper_rule),
                    "{name}: a rule other than the scraper's opens port {port}: {rule}"
                );
            }
        }
    }
}
