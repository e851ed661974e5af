//! The deployment files agree with the code: the Kubernetes Ingress routes exactly as the
//! ingress route table does, every service gets every variable its configuration requires
//! (checked with the services' own configuration parsers), ports and probe paths match, and
//! every image has a Dockerfile and a skaffold artifact.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::config::{ConfigError, Env};
use serde_json::Value;

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn k8s_dir() -> PathBuf {
    repo().join("deploy/k8s")
}

/// Every document of the files kustomization.yaml lists.
pub(crate) fn manifests() -> Vec<Value> {
    let kustomization = yaml_documents(&k8s_dir().join("kustomization.yaml")).remove(0);
    kustomization["resources"]
        .as_array()
        .expect("a resources list")
        .iter()
        .flat_map(|file| yaml_documents(&k8s_dir().join(file.as_str().unwrap())))
        .collect()
}

pub(crate) fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            let value: serde_yaml_ng::Value = serde::Deserialize::deserialize(document).unwrap();
            serde_json::to_value(value).unwrap()
        })
        .filter(|v| !v.is_null())
        .collect()
}

pub(crate) fn find<'a>(manifests: &'a [Value], kind: &str, name: &str) -> &'a Value {
    manifests
        .iter()
        .find(|m| m["kind"] == kind && m["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

pub(crate) fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

/// The environment a container gets: its ConfigMaps, its literal variables, and a
/// stand-in value for each secret it references.
pub(crate) fn environment(manifests: &[Value], container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        let name = source["configMapRef"]["name"]
            .as_str()
            .expect("a ConfigMap");
        let map = find(manifests, "ConfigMap", name);
        for (key, value) in map["data"].as_object().unwrap() {
            env.insert(key.clone(), value.as_str().unwrap().to_owned());
        }
    }
    for variable in container["env"].as_array().into_iter().flatten() {
        let name = variable["name"].as_str().unwrap().to_owned();
        if let Some(value) = variable["value"].as_str() {
            env.insert(name, value.to_owned());
        } else if let Some(secret) = variable["valueFrom"]["secretKeyRef"].as_object() {
            if secret.get("optional") == Some(&Value::Bool(true)) {
                continue;
            }
            let stand_in = match name.as_str() {
                "JWT_KEY" => "a-secret-of-at-least-16-chars".to_owned(),
                "STRIPE_KEY" => "sk_live_stand_in".to_owned(),
                other => format!("secret-{other}"),
            };
            env.insert(name, stand_in);
        }
    }
    env
}

type Parser = fn(&Env) -> Result<(), ConfigError>;

/// Each backend service's own configuration parser.
fn parsers() -> BTreeMap<&'static str, Parser> {
    BTreeMap::from([
        (
            "auth",
            (|env| auth::config::AuthConfig::from_env(env).map(drop)) as Parser,
        ),
        ("tickets", |env| {
            tickets::config::TicketsConfig::from_env(env).map(drop)
        }),
        ("orders", |env| {
            orders::config::OrdersConfig::from_env(env).map(drop)
        }),
        ("expiration", |env| {
            expiration::config::ExpirationConfig::from_env(env).map(drop)
        }),
        ("payments", |env| {
            payments::config::PaymentsConfig::from_env(env).map(drop)
        }),
    ])
}

#[test]
fn every_backend_service_has_a_parser_here_and_a_manifest() {
    let names: BTreeSet<&str> = parsers().keys().copied().collect();
    assert_eq!(names, stack::SERVICES.iter().copied().collect());
    let manifests = manifests();
    for service in stack::SERVICES {
        find(&manifests, "Deployment", service);
        find(&manifests, "Service", service);
    }
    find(&manifests, "Deployment", "web");
}

#[test]
fn kustomization_lists_every_manifest_file() {
    let kustomization = yaml_documents(&k8s_dir().join("kustomization.yaml")).remove(0);
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(k8s_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present);
}

#[test]
fn the_ingress_paths_are_the_route_table() {
    let manifests = manifests();
    let ingress = find(&manifests, "Ingress", "gittix");
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    let rules = ingress["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    let deployed: BTreeSet<(String, String)> = rules[0]["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["pathType"], "Prefix", "{p}");
            (
                p["path"].as_str().unwrap().to_owned(),
                p["backend"]["service"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut table: BTreeSet<(String, String)> = ingress::routes::routes()
        .map(|r| (r.prefix.to_owned(), r.service.to_owned()))
        .collect();
    table.insert(("/".to_owned(), ingress::routes::DEFAULT_SERVICE.to_owned()));
    assert_eq!(deployed, table);
    // The body limit matches the services' (1 MiB).
    assert_eq!(
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"],
        "1m"
    );
}

#[test]
fn every_service_gets_the_configuration_it_requires() {
    let manifests = manifests();
    for (service, parse) in parsers() {
        let deployment = find(&manifests, "Deployment", service);
        let env = environment(&manifests, container(deployment));
        let result = parse(&Env::from_pairs(env.clone()));
        assert!(result.is_ok(), "{service}: {:?} with {env:?}", result.err());
        assert!(
            env["SURREAL_URL"].starts_with("ws://"),
            "{service} uses the SurrealDB server"
        );
        assert_eq!(env["SURREAL_DB"], service, "one database per service");
        assert_eq!(env["HOST"], "0.0.0.0");
    }
}

#[test]
fn secrets_come_from_secrets() {
    let manifests = manifests();
    for service in stack::SERVICES {
        let container = container(find(&manifests, "Deployment", service));
        for variable in container["env"].as_array().unwrap() {
            let name = variable["name"].as_str().unwrap();
            if ["JWT_KEY", "STRIPE_KEY", "SURREAL_PASS", "NATS_PASSWORD"].contains(&name) {
                assert!(
                    variable["value"].is_null(),
                    "{service}: {name} must not be written out"
                );
                assert!(
                    variable["valueFrom"]["secretKeyRef"].is_object(),
                    "{service}: {name}"
                );
            }
        }
    }
    let config = find(&manifests, "ConfigMap", "gittix-config");
    for key in config["data"].as_object().unwrap().keys() {
        assert!(
            !["JWT_KEY", "STRIPE_KEY", "SURREAL_PASS", "NATS_PASSWORD"].contains(&key.as_str())
        );
    }
}

#[test]
fn payments_in_the_cluster_need_the_stripe_secret_and_never_run_the_sandbox() {
    let manifests = manifests();
    let container = container(find(&manifests, "Deployment", "payments"));
    let variables = container["env"].as_array().unwrap();
    let stripe_key = variables
        .iter()
        .find(|v| v["name"] == "STRIPE_KEY")
        .expect("payments reads STRIPE_KEY");
    let reference = &stripe_key["valueFrom"]["secretKeyRef"];
    assert!(
        reference["optional"].is_null() || reference["optional"] == false,
        "STRIPE_KEY must be required: a missing secret must stop the service, not free tickets"
    );
    let environment = environment(&manifests, container);
    assert!(
        !environment.contains_key("PAYMENTS_SANDBOX"),
        "the sandbox is never asked for in the cluster"
    );
}

#[test]
fn the_web_server_calls_the_ingress_controller_in_the_cluster() {
    let manifests = manifests();
    let env = environment(&manifests, container(find(&manifests, "Deployment", "web")));
    assert_eq!(
        env["INGRESS_URL"],
        "http://ingress-nginx-controller.ingress-nginx.svc.cluster.local"
    );
    assert_eq!(env["LEPTOS_SITE_ADDR"], "0.0.0.0:3000");
}

#[test]
fn ports_and_probes_match() {
    let manifests = manifests();
    for name in stack::SERVICES.iter().copied().chain(["web"]) {
        let deployment = find(&manifests, "Deployment", name);
        let container = container(deployment);
        let env = environment(&manifests, container);
        let port = container["ports"][0]["containerPort"].as_u64().unwrap();
        let listens = env
            .get("PORT")
            .cloned()
            .or_else(|| {
                env.get("LEPTOS_SITE_ADDR")
                    .map(|a| a.rsplit(':').next().unwrap().to_owned())
            })
            .unwrap();
        assert_eq!(
            listens,
            port.to_string(),
            "{name} listens where the container says"
        );
        let port_name = container["ports"][0]["name"].as_str().unwrap();
        let (ready, live) = if name == "web" {
            ("/healthz", "/healthz")
        } else {
            ("/readyz", "/healthz")
        };
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"], ready,
            "{name}"
        );
        assert_eq!(
            container["livenessProbe"]["httpGet"]["path"], live,
            "{name}"
        );
        assert_eq!(
            container["readinessProbe"]["httpGet"]["port"], port_name,
            "{name}"
        );
        assert_eq!(
            container["livenessProbe"]["httpGet"]["port"], port_name,
            "{name}"
        );
        for limit in ["requests", "limits"] {
            assert!(
                container["resources"][limit]["memory"].is_string(),
                "{name} {limit}"
            );
            assert!(
                container["resources"][limit]["cpu"].is_string(),
                "{name} {limit}"
            );
        }

        let service = find(&manifests, "Service", name);
        assert_eq!(
            service["spec"]["selector"]["app"],
            deployment["spec"]["template"]["metadata"]["labels"]["app"]
        );
        assert_eq!(service["spec"]["ports"][0]["targetPort"], port_name);
        let service_port = service["spec"]["ports"][0]["port"].as_u64().unwrap();
        let ingress = find(&manifests, "Ingress", "gittix");
        for path in ingress["spec"]["rules"][0]["http"]["paths"]
            .as_array()
            .unwrap()
        {
            if path["backend"]["service"]["name"] == name {
                assert_eq!(
                    path["backend"]["service"]["port"]["number"].as_u64(),
                    Some(service_port),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn nats_runs_three_jetstream_servers_on_volumes_and_streams_keep_three_copies() {
    let manifests = manifests();
    let nats = find(&manifests, "StatefulSet", "nats");
    assert_eq!(nats["spec"]["replicas"], 3);
    assert!(
        nats["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
            .is_string()
    );
    let config = find(&manifests, "ConfigMap", "nats-config");
    let conf = config["data"]["nats.conf"].as_str().unwrap();
    assert!(conf.contains("jetstream") && conf.contains("routes"));
    let env = find(&manifests, "ConfigMap", "gittix-config");
    assert_eq!(env["data"]["NATS_STREAM_REPLICAS"], "3");
    assert!(
        env["data"]["NATS_URL"]
            .as_str()
            .unwrap()
            .starts_with("nats://nats:")
    );
}

#[test]
fn every_image_has_a_dockerfile_and_a_skaffold_artifact() {
    let skaffold = yaml_documents(&repo().join("skaffold.yaml")).remove(0);
    let artifacts = skaffold["build"]["artifacts"].as_array().unwrap();
    let manifests = manifests();
    for name in stack::SERVICES.iter().copied().chain(["web"]) {
        let image = container(find(&manifests, "Deployment", name))["image"]
            .as_str()
            .unwrap()
            .to_owned();
        let artifact = artifacts
            .iter()
            .find(|a| a["image"] == image.as_str())
            .unwrap_or_else(|| panic!("no skaffold artifact builds {image}"));
        let dockerfile = artifact["docker"]["dockerfile"].as_str().unwrap();
        let text = std::fs::read_to_string(repo().join(dockerfile)).unwrap();
        if name != "web" {
            assert_eq!(artifact["docker"]["buildArgs"]["SERVICE"], name);
            assert!(text.contains("--bin service"));
            assert!(text.contains("GITTIX_SERVICE=${SERVICE}"));
        }
        let runtime = text.rsplit("\nFROM ").next().unwrap();
        assert!(
            runtime.contains("USER nonroot"),
            "{dockerfile}: a non-root user"
        );
        assert!(
            runtime.contains("HEALTHCHECK"),
            "{dockerfile}: a health check"
        );
        assert!(
            runtime.contains("EXPOSE 3000"),
            "{dockerfile}: the port the manifests use"
        );
        assert!(
            text.contains("cargo chef cook"),
            "{dockerfile}: a cached dependency layer"
        );
    }
}

/// The secret a container's variable `name` comes from, as (secret, key).
fn secret_of<'a>(container: &'a Value, name: &str) -> Option<(&'a str, &'a str)> {
    let variable = container["env"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)?;
    let reference = &variable["valueFrom"]["secretKeyRef"];
    Some((reference["name"].as_str()?, reference["key"].as_str()?))
}

#[test]
fn nats_knows_each_service_as_a_user_with_only_its_own_permissions() {
    use common::bus::access;
    let manifests = manifests();
    let conf = find(&manifests, "ConfigMap", "nats-config")["data"]["nats.conf"]
        .as_str()
        .unwrap();
    let accounts = access::accounts(stack::SERVICES, |user| {
        format!("${}", access::password_variable(user))
    });
    assert!(
        conf.contains(&accounts),
        "nats.conf must carry the users of common::bus::access, rendered:\n{accounts}"
    );
    assert!(!conf.contains("no_auth_user"), "every client signs in");

    let nats = container(find(&manifests, "StatefulSet", "nats"));
    for user in std::iter::once(access::ADMIN).chain(stack::SERVICES.iter().copied()) {
        let variable = access::password_variable(user);
        assert_eq!(
            secret_of(nats, &variable),
            Some(("nats-credentials", variable.as_str())),
            "nats reads {user}'s password from the nats-credentials Secret"
        );
    }
    for service in stack::SERVICES {
        let container = container(find(&manifests, "Deployment", service));
        let env = environment(&manifests, container);
        assert_eq!(env["NATS_USER"], *service);
        let variable = access::password_variable(service);
        assert_eq!(
            secret_of(container, "NATS_PASSWORD"),
            Some(("nats-credentials", variable.as_str())),
            "{service} signs in with its own NATS password"
        );
    }
}

#[test]
fn each_service_signs_in_as_the_user_of_its_own_database_that_setup_creates() {
    let manifests = manifests();
    let setup = find(&manifests, "Job", "surrealdb-setup");
    let job = container(setup);
    assert_eq!(job["args"], serde_json::json!(["provision-databases"]));
    assert_eq!(
        secret_of(job, "SURREAL_ROOT_PASS"),
        Some(("surrealdb-credentials", "SURREAL_PASS")),
        "setup signs in as root"
    );
    for service in stack::SERVICES {
        let container = container(find(&manifests, "Deployment", service));
        let env = environment(&manifests, container);
        assert_eq!(env["SURREAL_USER"], *service, "{service} is not root");
        let password = secret_of(container, "SURREAL_PASS").expect("a password from a Secret");
        assert_ne!(
            password.1, "SURREAL_PASS",
            "{service} must not get root's password"
        );
        let provisioned = format!("SURREAL_PASS_{}", service.to_uppercase());
        assert_eq!(
            secret_of(job, &provisioned),
            Some(password),
            "setup gives {service}'s user the password {service} signs in with"
        );
    }
}
