//! The cluster rides out disruptions (a node drained or lost, a rollout, a rush), in the
//! default manifests and in the TiKV overlay alike: every workload has one
//! PodDisruptionBudget, which lets a drain move its pods but keeps the NATS, PD and TiKV
//! majorities; the stateless Deployments scale on CPU from their replicas; replicas spread
//! over the nodes, strictly for the servers of a Raft group; every Deployment leaves the
//! endpoints before it stops and has time for its longest work in flight. The TiKV overlay
//! (deploy/overlays/tikv), rendered here as `kubectl kustomize` renders it, lists files that
//! exist, patches objects of the default manifests, runs SurrealDB servers that keep nothing
//! on three PD and three TiKV servers, and its policies open exactly the storage's flows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::bus::ListenOptions;
use common::config::Env;
use serde_json::Value;

use crate::deployment::{container, environment, find, manifests, repo, yaml_documents};
use crate::network_policies;

/// The apps whose servers form Raft groups (JetStream's streams, PD, TiKV's regions): a
/// majority of them must stay up, and no two may share a node.
const RAFT: &[&str] = &["nats", "pd", "tikv"];

/// The longest a charge stays in flight in payments: Stripe's 30 s timeout
/// (services/payments/src/gateway/stripe.rs), then up to 13 s of retries recording its answer
/// (`record` in services/payments/src/workflow.rs). A second request for the order waits up
/// to 40 s for it (`WAIT_FOR_OTHER` there).
const CHARGE_IN_FLIGHT: Duration = Duration::from_secs(45);

/// The longest a call of the web server to the services takes: its client's timeout
/// (app/src/api.rs).
const WEB_CALL: Duration = Duration::from_secs(30);

/// The flows the TiKV overlay adds to those of the default manifests.
const TIKV_FLOWS: &[(&str, &str, &str)] = &[
    ("surrealdb", "pd", "2379/TCP"),
    ("surrealdb", "tikv", "20160/TCP"),
    ("pd", "pd", "2379/TCP"),
    ("pd", "pd", "2380/TCP"),
    ("tikv", "tikv", "20160/TCP"),
    ("tikv", "pd", "2379/TCP"),
];

fn overlay_dir() -> PathBuf {
    repo().join("deploy/overlays/tikv")
}

/// The default manifests and the TiKV overlay's, each with where it comes from.
fn deployments() -> [(&'static str, Vec<Value>); 2] {
    [
        ("deploy/k8s", manifests()),
        ("deploy/overlays/tikv", render(&overlay_dir())),
    ]
}

fn kustomization(dir: &Path) -> Value {
    yaml_documents(&dir.join("kustomization.yaml")).remove(0)
}

fn strings(list: &Value) -> impl Iterator<Item = &str> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().expect("a string"))
}

fn patch_paths(kustomization: &Value) -> Vec<&str> {
    let patches = kustomization["patches"].as_array().into_iter().flatten();
    patches
        .map(|p| p["path"].as_str().expect("a patch file"))
        .collect()
}

/// The objects `kubectl kustomize dir` renders: those of its resources (files, or
/// directories rendered the same way) with its patches merged into the objects they name.
fn render(dir: &Path) -> Vec<Value> {
    let kustomization = kustomization(dir);
    let mut objects: Vec<Value> = strings(&kustomization["resources"])
        .flat_map(|resource| {
            let path = dir.join(resource);
            if path.is_dir() {
                render(&path)
            } else {
                yaml_documents(&path)
            }
        })
        .collect();
    for path in patch_paths(&kustomization) {
        let patch = yaml_documents(&dir.join(path)).remove(0);
        let target = objects
            .iter_mut()
            .find(|o| same_object(o, &patch))
            .unwrap_or_else(|| panic!("{path} patches no object of the resources"));
        merge(target, &patch);
    }
    objects
}

fn same_object(a: &Value, b: &Value) -> bool {
    ["apiVersion", "kind"].iter().all(|k| a[k] == b[k])
        && ["name", "namespace"]
            .iter()
            .all(|k| a["metadata"][k] == b["metadata"][k])
}

/// A strategic merge, as far as the overlay's patches use one: maps merge key by key and a
/// null removes its key; lists of named items (containers, volumes, env) merge item by
/// item; other lists and values are replaced.
fn merge(target: &mut Value, patch: &Value) {
    let named = |items: &[Value]| items.iter().all(|i| i["name"].is_string());
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (Value::Array(target), Value::Array(patch)) if named(target) && named(patch) => {
            for item in patch {
                match target.iter_mut().find(|t| t["name"] == item["name"]) {
                    Some(existing) => merge(existing, item),
                    None => target.push(item.clone()),
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn of_kind<'a>(manifests: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> {
    manifests.iter().filter(move |m| m["kind"] == kind)
}

fn workloads(manifests: &[Value]) -> impl Iterator<Item = &Value> {
    manifests
        .iter()
        .filter(|m| m["kind"] == "Deployment" || m["kind"] == "StatefulSet")
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().expect("a name")
}

fn replicas(workload: &Value) -> u64 {
    workload["spec"]["replicas"].as_u64().unwrap_or(1)
}

/// Whether `selector` selects the pods of `workload` (in its namespace).
fn selects_pods(selector: &Value, workload: &Value) -> bool {
    let labels = network_policies::labels(&workload["spec"]["template"]);
    !selector.is_null() && network_policies::selects(selector, &labels)
}

fn budgets_of<'a>(manifests: &'a [Value], workload: &Value) -> Vec<&'a Value> {
    of_kind(manifests, "PodDisruptionBudget")
        .filter(|b| b["metadata"]["namespace"] == workload["metadata"]["namespace"])
        .filter(|b| selects_pods(&b["spec"]["selector"], workload))
        .collect()
}

fn autoscaler_of<'a>(manifests: &'a [Value], workload: &Value) -> Option<&'a Value> {
    of_kind(manifests, "HorizontalPodAutoscaler").find(|h| {
        let target = &h["spec"]["scaleTargetRef"];
        target["kind"] == workload["kind"]
            && target["name"] == workload["metadata"]["name"]
            && h["metadata"]["namespace"] == workload["metadata"]["namespace"]
    })
}

/// How many of `replicas` healthy pods the budget lets a drain evict at once (a percentage
/// rounds up, as the disruption controller rounds it).
fn evictable(budget: &Value, replicas: u64) -> u64 {
    let scaled = |value: &Value| match value {
        Value::Number(n) => n.as_u64().expect("a count"),
        Value::String(p) => {
            let percent: u64 = p
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("a count or a percentage: {p}"));
            (replicas * percent).div_ceil(100)
        }
        other => panic!("a count or a percentage: {other}"),
    };
    let spec = &budget["spec"];
    match (&spec["maxUnavailable"], &spec["minAvailable"]) {
        (Value::Null, Value::Null) => panic!("{}: no budget", name(budget)),
        (most, Value::Null) => scaled(most).min(replicas),
        (Value::Null, least) => replicas.saturating_sub(scaled(least)),
        _ => panic!("{}: maxUnavailable or minAvailable, not both", name(budget)),
    }
}

#[test]
fn every_workload_has_one_budget_that_lets_a_drain_through_and_keeps_majorities() {
    for (source, manifests) in deployments() {
        for budget in of_kind(&manifests, "PodDisruptionBudget") {
            let protects =
                workloads(&manifests).any(|w| budgets_of(&manifests, w).contains(&budget));
            assert!(protects, "{source}: {} covers no pods", name(budget));
        }
        for workload in workloads(&manifests) {
            let name = name(workload);
            // The eviction API refuses to evict a pod that two budgets select.
            let budgets = budgets_of(&manifests, workload);
            assert_eq!(budgets.len(), 1, "{source}: {name} needs one budget");
            let mut counts = vec![replicas(workload)];
            counts.extend(
                autoscaler_of(&manifests, workload)
                    .map(|h| h["spec"]["maxReplicas"].as_u64().expect("maxReplicas")),
            );
            for count in counts {
                let evictable = evictable(budgets[0], count);
                if count == 1 {
                    // A single pod (the default SurrealDB server) goes only when an operator
                    // deletes it: see deploy/k8s/surrealdb.yaml.
                    assert_eq!(evictable, 0, "{source}: {name}'s single pod");
                } else {
                    assert!(
                        (1..count).contains(&evictable),
                        "{source}: a drain may evict {evictable} of {name}'s {count} pods: \
                         at least one, never all"
                    );
                }
                if RAFT.contains(&name) {
                    assert!(
                        count - evictable > count / 2,
                        "{source}: {name} keeps a majority of its {count} servers"
                    );
                }
            }
        }
    }
}

#[test]
fn every_stateless_deployment_scales_on_cpu_from_its_replicas() {
    for (source, manifests) in deployments() {
        let deployments: BTreeSet<&str> = of_kind(&manifests, "Deployment").map(name).collect();
        let stateless: BTreeSet<&str> = stack::SERVICES.iter().copied().chain(["web"]).collect();
        assert_eq!(deployments, stateless, "{source}: the Deployments");
        for autoscaler in of_kind(&manifests, "HorizontalPodAutoscaler") {
            let target = &autoscaler["spec"]["scaleTargetRef"];
            assert_eq!(target["apiVersion"], "apps/v1", "{source}");
            let kind = target["kind"].as_str().expect("a kind");
            let scaled = find(&manifests, kind, target["name"].as_str().expect("a name"));
            assert_eq!(
                scaled["metadata"]["namespace"],
                autoscaler["metadata"]["namespace"]
            );
        }
        for deployment in of_kind(&manifests, "Deployment") {
            let name = name(deployment);
            let autoscaler = autoscaler_of(&manifests, deployment)
                .unwrap_or_else(|| panic!("{source}: {name} has no autoscaler"));
            let spec = &autoscaler["spec"];
            let least = spec["minReplicas"].as_u64().expect("minReplicas");
            assert_eq!(
                least,
                replicas(deployment),
                "{source}: {name} starts as deployed"
            );
            let most = spec["maxReplicas"].as_u64();
            assert!(most.is_some_and(|most| most > least), "{source}: {name}");
            let metrics = spec["metrics"].as_array().expect("metrics");
            assert_eq!(metrics.len(), 1, "{source}: {name}");
            let metric = &metrics[0]["resource"];
            assert_eq!(metrics[0]["type"], "Resource");
            assert_eq!(metric["name"], "cpu", "{source}: {name}");
            assert_eq!(metric["target"]["type"], "Utilization", "{source}: {name}");
            let utilization = metric["target"]["averageUtilization"].as_u64();
            assert!(utilization.is_some_and(|u| (1..=100).contains(&u)));
            // Utilization is of the request.
            assert!(container(deployment)["resources"]["requests"]["cpu"].is_string());
        }
        // A Raft group names exactly its servers (NATS's routes, PD's initial cluster):
        // never scaled by load.
        for set in of_kind(&manifests, "StatefulSet").filter(|s| RAFT.contains(&name(s))) {
            assert!(autoscaler_of(&manifests, set).is_none(), "{source}");
        }
    }
}

/// The workload's constraints that spread its own pods over the nodes.
fn node_spread(workload: &Value) -> Vec<&Value> {
    let constraints = &workload["spec"]["template"]["spec"]["topologySpreadConstraints"];
    constraints
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["topologyKey"] == "kubernetes.io/hostname")
        .filter(|c| selects_pods(&c["labelSelector"], workload))
        .collect()
}

/// Whether no two of the workload's pods may ever share a node.
fn node_anti_affinity(workload: &Value) -> bool {
    let affinity = &workload["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"];
    let terms = affinity["requiredDuringSchedulingIgnoredDuringExecution"].as_array();
    terms.into_iter().flatten().any(|term| {
        term["topologyKey"] == "kubernetes.io/hostname"
            && selects_pods(&term["labelSelector"], workload)
    })
}

#[test]
fn replicas_spread_over_the_nodes_and_raft_servers_each_take_one() {
    for (source, manifests) in deployments() {
        for workload in workloads(&manifests).filter(|w| replicas(w) > 1) {
            let name = name(workload);
            let spread = node_spread(workload);
            if RAFT.contains(&name) {
                assert!(replicas(workload) >= 3, "{source}: {name}");
                // A skew of 1 that must hold: no server beside another while a node has
                // none (with three nodes or more, each server on its own).
                let strict = spread
                    .iter()
                    .any(|c| c["whenUnsatisfiable"] == "DoNotSchedule" && c["maxSkew"] == 1);
                assert!(
                    strict || node_anti_affinity(workload),
                    "{source}: {name}'s servers must not share a node"
                );
            } else {
                assert!(
                    !spread.is_empty(),
                    "{source}: {name} spreads over the nodes"
                );
                assert!(
                    spread
                        .iter()
                        .all(|c| c["whenUnsatisfiable"] == "ScheduleAnyway"),
                    "{source}: {name} is never left pending for want of a node of its own"
                );
            }
        }
    }
}

/// The longest a Deployment's pod may be working after SIGTERM: a request body still being
/// read (its own HTTP limits), an event handler (the ack wait: past it the event goes to
/// another instance anyway), and what only some do.
fn longest_work(manifests: &[Value], deployment: &Value) -> Duration {
    let env = Env::from_pairs(environment(manifests, container(deployment)));
    let body = common::config::http_limits(&env)
        .expect("valid HTTP limits")
        .body_read_timeout;
    let handler = ListenOptions::default().ack_wait;
    match name(deployment) {
        "web" => body.max(WEB_CALL),
        "payments" => body.max(handler).max(CHARGE_IN_FLIGHT),
        _ => body.max(handler),
    }
}

#[test]
fn every_deployment_leaves_the_endpoints_then_finishes_its_longest_work() {
    let manifests = manifests();
    for deployment in of_kind(&manifests, "Deployment") {
        let name = name(deployment);
        let pre_stop = &container(deployment)["lifecycle"]["preStop"];
        // The images are distroless: no shell, no sleep command to run.
        assert!(
            pre_stop["exec"].is_null(),
            "{name}: no command in the image"
        );
        let sleep = pre_stop["sleep"]["seconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: a preStop sleep"));
        assert!(
            (3..=15).contains(&sleep),
            "{name}: a few seconds for the endpoints to drop the pod, not {sleep}"
        );
        let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: a grace period"));
        let longest = longest_work(&manifests, deployment);
        assert!(
            Duration::from_secs(grace) >= Duration::from_secs(sleep) + longest,
            "{name}: {grace} s to stop must cover the {sleep} s sleep and {longest:?} of work"
        );
    }
}

fn yaml_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect()
}

#[test]
fn the_tikv_overlay_lists_files_that_exist_and_patches_objects_of_the_default_manifests() {
    let dir = overlay_dir();
    let kustomization = kustomization(&dir);
    let overlay = dir.canonicalize().unwrap();
    let (mut files, mut bases) = (BTreeSet::new(), Vec::new());
    for resource in strings(&kustomization["resources"]) {
        let path = dir.join(resource);
        assert!(path.exists(), "{resource} does not exist");
        if path.is_dir() {
            assert!(path.join("kustomization.yaml").is_file(), "{resource}");
            let base = path.canonicalize().unwrap();
            // kustomize refuses a base that contains its overlay ("cycle detected").
            assert!(
                !overlay.starts_with(&base),
                "{resource} contains the overlay"
            );
            bases.push(base);
        } else {
            files.insert(resource.to_owned());
        }
    }
    let default = repo().join("deploy/k8s").canonicalize().unwrap();
    assert_eq!(bases, [default], "built on the default manifests");
    // Each file of whole objects is listed (and so validated by the test command).
    assert_eq!(files, yaml_files(&dir));

    let patches: BTreeSet<String> = patch_paths(&kustomization)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let present: BTreeSet<String> = yaml_files(&dir.join("patches"))
        .into_iter()
        .map(|file| format!("patches/{file}"))
        .collect();
    assert_eq!(patches, present, "patches/ holds the patches, all applied");
    let base = manifests();
    for path in &patches {
        let documents = yaml_documents(&dir.join(path));
        assert_eq!(documents.len(), 1, "{path}: one patch per file");
        assert!(
            base.iter().any(|object| same_object(object, &documents[0])),
            "{path} names no object of deploy/k8s"
        );
    }
}

/// The container's flag `--name=value`'s value.
fn flag<'a>(container: &'a Value, name: &str) -> &'a str {
    strings(&container["args"])
        .find_map(|arg| arg.strip_prefix(&format!("--{name}=")))
        .unwrap_or_else(|| panic!("no --{name}"))
}

fn container_ports(workload: &Value) -> Vec<u64> {
    let ports = container(workload)["ports"].as_array().expect("ports");
    ports
        .iter()
        .map(|p| p["containerPort"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_tikv_overlay_runs_surrealdb_servers_that_keep_nothing_on_pd_and_tikv() {
    let manifests = render(&overlay_dir());
    let surrealdb = find(&manifests, "StatefulSet", "surrealdb");
    assert!(replicas(surrealdb) >= 2, "several SurrealDB servers");
    let server = container(surrealdb);
    assert!(
        surrealdb["spec"]["volumeClaimTemplates"].is_null() && server["volumeMounts"].is_null(),
        "the SurrealDB servers keep nothing of their own"
    );
    let args: Vec<&str> = strings(&server["args"]).collect();
    assert_eq!(args.first(), Some(&"start"));
    let storage = args.last().unwrap();
    let address = storage
        .strip_prefix("tikv://")
        .unwrap_or_else(|| panic!("SurrealDB stores on TiKV, not {storage}"));
    let (host, port) = address.split_once(':').expect("host:port");
    let pd = find(&manifests, "StatefulSet", "pd");
    let service = find(&manifests, "Service", host);
    assert!(
        selects_pods(&service["spec"]["selector"], pd),
        "{host} is PD"
    );
    let ports = service["spec"]["ports"].as_array().unwrap();
    assert!(
        ports
            .iter()
            .any(|p| p["port"].as_u64() == port.parse().ok()),
        "the {host} Service has port {port}"
    );

    for name in ["pd", "tikv"] {
        let set = find(&manifests, "StatefulSet", name);
        assert_eq!(replicas(set), 3, "{name}: three servers");
        let claim = &set["spec"]["volumeClaimTemplates"][0];
        assert!(claim["spec"]["resources"]["requests"]["storage"].is_string());
        let mounted = container(set)["volumeMounts"].as_array().unwrap();
        assert!(
            mounted
                .iter()
                .any(|m| m["name"] == claim["metadata"]["name"])
        );
        let image = container(set)["image"].as_str().unwrap();
        let (_, tag) = image.split_once(':').expect("a tag");
        assert!(tag.starts_with("v8.5."), "{image}: a pinned v8.5 release");
        let budget = find(&manifests, "PodDisruptionBudget", name);
        assert!(selects_pods(&budget["spec"]["selector"], set), "{name}");
        // The servers find each other at their own names on the governing Service.
        let peers = find(
            &manifests,
            "Service",
            set["spec"]["serviceName"].as_str().unwrap(),
        );
        assert_eq!(peers["spec"]["clusterIP"], "None", "{name}: headless");
        assert_eq!(peers["spec"]["publishNotReadyAddresses"], true, "{name}");
        assert!(selects_pods(&peers["spec"]["selector"], set), "{name}");
    }
    // PD's first start: its three servers, at their names on the peer Service.
    let initial: BTreeMap<String, String> = flag(container(pd), "initial-cluster")
        .split(',')
        .map(|member| member.split_once('=').expect("name=url"))
        .map(|(name, url)| (name.to_owned(), url.to_owned()))
        .collect();
    let members = (0..3).map(|n| {
        let pod = format!("pd-{n}");
        let url = format!("http://{pod}.pd-peer.gittix.svc:2380");
        (pod, url)
    });
    assert_eq!(initial, members.collect());
    // TiKV finds PD where SurrealDB does.
    assert_eq!(
        flag(container(find(&manifests, "StatefulSet", "tikv")), "pd"),
        address
    );

    // The flows' ports are the servers' own.
    for (_, to, port) in TIKV_FLOWS {
        let number: u64 = port.strip_suffix("/TCP").unwrap().parse().unwrap();
        let set = find(&manifests, "StatefulSet", to);
        assert!(
            container_ports(set).contains(&number),
            "{to} has no port {number}"
        );
    }
}

#[test]
fn the_tikv_overlay_policies_allow_exactly_the_default_flows_and_the_storages() {
    let flows: Vec<(&str, &str, &str)> = network_policies::FLOWS
        .iter()
        .chain(TIKV_FLOWS)
        .copied()
        .collect();
    network_policies::assert_allow_exactly(&render(&overlay_dir()), &flows);
}
