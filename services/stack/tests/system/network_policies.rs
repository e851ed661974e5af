//! The network policies allow exactly the flows the architecture has: the (from, to, port)
//! flows they allow between the namespace's apps, the ingress controller, the cluster DNS
//! and the internet are the table below, no more and no less, and each end of a flow (the
//! sender's egress, the receiver's ingress) allows no more on its own. Every pod is under
//! the default deny, the ingress controller reaches exactly the Ingress's backends, and
//! every port a policy names is a port of the containers it points at.
//!
//! The evaluator reads what the policies use (matchLabels, namespaces by name, IPv4
//! ipBlocks, ports by number or name) and refuses the rest. Kubelet probes are not subject
//! to policies and are not flows here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::deployment::{find, manifests};

const NAMESPACE: &str = "gittix";

/// Every app of the namespace (the setup Job's may not be deployed yet); each resolves names
/// through the cluster DNS.
const APPS: &[&str] = &[
    "web",
    "auth",
    "tickets",
    "orders",
    "expiration",
    "payments",
    "nats",
    "surrealdb",
    "surrealdb-setup",
];

/// Every other flow the architecture has.
pub(crate) const FLOWS: &[(&str, &str, &str)] = &[
    ("ingress-nginx", "web", "3000/TCP"),
    ("ingress-nginx", "auth", "3000/TCP"),
    ("ingress-nginx", "tickets", "3000/TCP"),
    ("ingress-nginx", "orders", "3000/TCP"),
    ("ingress-nginx", "payments", "3000/TCP"),
    ("web", "ingress-nginx", "80/TCP"),
    ("auth", "nats", "4222/TCP"),
    ("tickets", "nats", "4222/TCP"),
    ("orders", "nats", "4222/TCP"),
    ("expiration", "nats", "4222/TCP"),
    ("payments", "nats", "4222/TCP"),
    ("nats", "nats", "4222/TCP"),
    ("nats", "nats", "6222/TCP"),
    ("auth", "surrealdb", "8000/TCP"),
    ("tickets", "surrealdb", "8000/TCP"),
    ("orders", "surrealdb", "8000/TCP"),
    ("expiration", "surrealdb", "8000/TCP"),
    ("payments", "surrealdb", "8000/TCP"),
    ("surrealdb-setup", "surrealdb", "8000/TCP"),
    ("payments", "internet", "443/TCP"),
];

/// Where the cluster's pods may be numbered: any of the private ranges.
const CLUSTER_ADDRESSES: [Ipv4Addr; 3] = [
    Ipv4Addr::new(10, 0, 0, 1),
    Ipv4Addr::new(172, 16, 0, 1),
    Ipv4Addr::new(192, 168, 0, 1),
];

/// An address on the internet.
const INTERNET_ADDRESS: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Port {
    number: u64,
    protocol: String,
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.protocol)
    }
}

#[derive(Debug, Clone)]
struct ContainerPort {
    name: Option<String>,
    port: Port,
}

/// Somewhere traffic comes from or goes to: the pods of an app, or the internet.
#[derive(Debug)]
struct Endpoint {
    name: String,
    /// `None` for the internet, which no pod selector matches.
    namespace: Option<&'static str>,
    labels: BTreeMap<String, String>,
    /// The pods' container ports; `None` when no workload of the manifests runs them.
    ports: Option<Vec<ContainerPort>>,
    addresses: Vec<Ipv4Addr>,
}

impl Endpoint {
    fn is_ours(&self) -> bool {
        self.namespace == Some(NAMESPACE)
    }
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// The policy type, the rules' key and the peers' key.
    fn keys(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Direction::Ingress => ("Ingress", "ingress", "from"),
            Direction::Egress => ("Egress", "egress", "to"),
        }
    }
}

fn policies(manifests: &[Value]) -> Vec<&Value> {
    manifests
        .iter()
        .filter(|m| m["kind"] == "NetworkPolicy")
        .collect()
}

/// The pod template of every workload, with the workload's kind and name.
fn pod_templates(manifests: &[Value]) -> Vec<(String, &Value, &Value)> {
    manifests
        .iter()
        .filter_map(|m| {
            let template = match m["kind"].as_str()? {
                "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => &m["spec"]["template"],
                "CronJob" => &m["spec"]["jobTemplate"]["spec"]["template"],
                _ => return None,
            };
            Some((
                format!("{} {}", m["kind"], m["metadata"]["name"]),
                m,
                template,
            ))
        })
        .collect()
}

pub(crate) fn labels(object: &Value) -> BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap().to_owned()))
        .collect()
}

fn port(number: u64, protocol: &str) -> Port {
    Port {
        number,
        protocol: protocol.to_owned(),
    }
}

fn container_ports(template: &Value) -> Vec<ContainerPort> {
    let containers = template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten();
    containers
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .map(|p| ContainerPort {
            name: p["name"].as_str().map(str::to_owned),
            port: port(
                p["containerPort"].as_u64().unwrap(),
                p["protocol"].as_str().unwrap_or("TCP"),
            ),
        })
        .collect()
}

fn pods_outside(
    name: &str,
    namespace: &'static str,
    labels: &[(&str, &str)],
    ports: &[(&str, u64, &str)],
) -> Endpoint {
    Endpoint {
        name: name.to_owned(),
        namespace: Some(namespace),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ports: Some(
            ports
                .iter()
                .map(|&(name, number, protocol)| ContainerPort {
                    name: Some(name.to_owned()),
                    port: port(number, protocol),
                })
                .collect(),
        ),
        addresses: CLUSTER_ADDRESSES.to_vec(),
    }
}

/// The apps of the namespace (those of the workloads and those of `APPS`), the ingress
/// controller and the cluster DNS with their usual labels and container ports, and the
/// internet.
fn endpoints(manifests: &[Value]) -> Vec<Endpoint> {
    let mut apps: BTreeMap<String, Endpoint> = BTreeMap::new();
    for (workload, _, template) in pod_templates(manifests) {
        let labels = labels(template);
        let app = labels
            .get("app")
            .unwrap_or_else(|| panic!("{workload}: no app label"));
        apps.insert(
            app.clone(),
            Endpoint {
                name: app.clone(),
                namespace: Some(NAMESPACE),
                labels: labels.clone(),
                ports: Some(container_ports(template)),
                addresses: CLUSTER_ADDRESSES.to_vec(),
            },
        );
    }
    for app in APPS {
        apps.entry(app.to_string()).or_insert_with(|| Endpoint {
            name: app.to_string(),
            namespace: Some(NAMESPACE),
            labels: BTreeMap::from([("app".to_owned(), app.to_string())]),
            ports: None,
            addresses: CLUSTER_ADDRESSES.to_vec(),
        });
    }
    let mut endpoints: Vec<Endpoint> = apps.into_values().collect();
    endpoints.push(pods_outside(
        "ingress-nginx",
        "ingress-nginx",
        &[
            ("app.kubernetes.io/name", "ingress-nginx"),
            ("app.kubernetes.io/component", "controller"),
        ],
        &[("http", 80, "TCP"), ("https", 443, "TCP")],
    ));
    endpoints.push(pods_outside(
        "kube-dns",
        "kube-system",
        &[("k8s-app", "kube-dns")],
        &[
            ("dns", 53, "UDP"),
            ("dns-tcp", 53, "TCP"),
            ("metrics", 9153, "TCP"),
        ],
    ));
    endpoints.push(Endpoint {
        name: "internet".to_owned(),
        namespace: None,
        labels: BTreeMap::new(),
        ports: None,
        addresses: vec![INTERNET_ADDRESS],
    });
    endpoints
}

/// Whether a label selector (matchLabels only) selects these labels; `{}` selects all.
pub(crate) fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    assert!(
        selector["matchExpressions"].is_null(),
        "matchExpressions are not evaluated here: {selector}"
    );
    selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| labels.get(key).map(String::as_str) == value.as_str())
}

/// Whether an ipBlock holds the address: inside its cidr and outside every except.
fn block_holds(block: &Value, address: Ipv4Addr) -> bool {
    let inside = |cidr: &Value| {
        let (base, bits) = cidr.as_str().unwrap().split_once('/').expect("a CIDR");
        let base: Ipv4Addr = base.parse().expect("an IPv4 CIDR");
        let mask = u32::MAX
            .checked_shl(32 - bits.parse::<u32>().unwrap())
            .unwrap_or(0);
        u32::from(address) & mask == u32::from(base) & mask
    };
    inside(&block["cidr"]) && !block["except"].as_array().into_iter().flatten().any(inside)
}

/// Whether a peer (an entry of `from` or `to`) of a policy in our namespace matches the
/// endpoint.
fn peer_matches(peer: &Value, endpoint: &Endpoint) -> bool {
    if !peer["ipBlock"].is_null() {
        return endpoint
            .addresses
            .iter()
            .any(|&a| block_holds(&peer["ipBlock"], a));
    }
    let Some(namespace) = endpoint.namespace else {
        return false;
    };
    let in_namespace = match &peer["namespaceSelector"] {
        Value::Null => namespace == NAMESPACE,
        selector => selects(
            selector,
            &BTreeMap::from([(
                "kubernetes.io/metadata.name".to_owned(),
                namespace.to_owned(),
            )]),
        ),
    };
    in_namespace
        && (peer["podSelector"].is_null() || selects(&peer["podSelector"], &endpoint.labels))
}

/// Whether a port of a rule (a number, a range or a name) is this port of the endpoint; a
/// name is one of the endpoint's container ports.
fn port_admits(rule_port: &Value, port: &Port, endpoint: &Endpoint) -> bool {
    if rule_port["protocol"].as_str().unwrap_or("TCP") != port.protocol {
        return false;
    }
    match &rule_port["port"] {
        Value::Null => true,
        Value::Number(first) => {
            let first = first.as_u64().unwrap();
            let last = rule_port["endPort"].as_u64().unwrap_or(first);
            (first..=last).contains(&port.number)
        }
        Value::String(name) => endpoint
            .ports
            .iter()
            .flatten()
            .any(|c| c.name.as_deref() == Some(name.as_str()) && c.port == *port),
        other => panic!("a port is a number or a name: {other}"),
    }
}

/// Whether the policies let `pod` send (egress) or receive (ingress) traffic with `peer`
/// on a port of `destination`; a pod no policy selects in that direction is open.
fn allows(
    policies: &[&Value],
    direction: Direction,
    pod: &Endpoint,
    peer: &Endpoint,
    destination: &Endpoint,
    port: &Port,
) -> bool {
    let (policy_type, rules_key, peers_key) = direction.keys();
    let selecting: Vec<&&Value> = policies
        .iter()
        .filter(|p| policy_types(p).contains(&policy_type))
        .filter(|p| selects(&p["spec"]["podSelector"], &pod.labels))
        .collect();
    if selecting.is_empty() {
        return true;
    }
    // Rules without peers or without ports allow every peer or every port.
    selecting
        .iter()
        .flat_map(|p| p["spec"][rules_key].as_array().into_iter().flatten())
        .any(|rule| {
            let peers = rule[peers_key].as_array().filter(|a| !a.is_empty());
            let ports = rule["ports"].as_array().filter(|a| !a.is_empty());
            peers.is_none_or(|peers| peers.iter().any(|p| peer_matches(p, peer)))
                && ports.is_none_or(|ports| ports.iter().any(|p| port_admits(p, port, destination)))
        })
}

/// A policy's types; without the field, Ingress, and Egress if it has egress rules.
fn policy_types(policy: &Value) -> Vec<&str> {
    match policy["spec"]["policyTypes"].as_array() {
        Some(types) => types.iter().map(|t| t.as_str().unwrap()).collect(),
        None if policy["spec"]["egress"].is_null() => vec!["Ingress"],
        None => vec!["Ingress", "Egress"],
    }
}

/// Every port a flow may use: the container ports, the ports the policies number, and one
/// port of each protocol that nothing uses (it shows a rule that leaves ports open).
fn candidate_ports(endpoints: &[Endpoint], policies: &[&Value]) -> BTreeSet<Port> {
    let mut ports: BTreeSet<Port> = endpoints
        .iter()
        .flat_map(|e| e.ports.iter().flatten())
        .map(|c| c.port.clone())
        .collect();
    for policy in policies {
        for (_, rules_key, _) in [Direction::Ingress.keys(), Direction::Egress.keys()] {
            let rules = policy["spec"][rules_key].as_array().into_iter().flatten();
            for rule_port in rules.flat_map(|r| r["ports"].as_array().into_iter().flatten()) {
                let protocol = rule_port["protocol"].as_str().unwrap_or("TCP");
                for key in ["port", "endPort"] {
                    if let Some(number) = rule_port[key].as_u64() {
                        ports.insert(port(number, protocol));
                    }
                }
            }
        }
    }
    for protocol in ["TCP", "UDP", "SCTP"] {
        ports.insert(port(65535, protocol));
    }
    ports
}

/// From, to and port ("3000/TCP").
type Flow = (String, String, String);

/// The flows one end's rules allow: for egress, the flows out of our pods that the
/// senders' policies allow; for ingress, the flows into our pods that the receivers'
/// policies allow. A flow goes through when each end of it that is ours allows it.
fn allowed(manifests: &[Value], direction: Direction) -> BTreeSet<Flow> {
    let policies = policies(manifests);
    let endpoints = endpoints(manifests);
    let ports = candidate_ports(&endpoints, &policies);
    let mut flows = BTreeSet::new();
    for from in &endpoints {
        for to in &endpoints {
            let (pod, peer) = match direction {
                Direction::Egress => (from, to),
                Direction::Ingress => (to, from),
            };
            if !pod.is_ours() {
                continue;
            }
            for port in &ports {
                if allows(&policies, direction, pod, peer, to, port) {
                    flows.insert((from.name.clone(), to.name.clone(), port.to_string()));
                }
            }
        }
    }
    flows
}

fn flow(from: &str, to: &str, port: &str) -> Flow {
    (from.to_owned(), to.to_owned(), port.to_owned())
}

fn list(flows: &BTreeSet<Flow>) -> String {
    flows
        .iter()
        .map(|(from, to, port)| format!("\n  {from} -> {to} {port}"))
        .collect()
}

#[test]
fn the_policies_allow_exactly_the_flows_of_the_architecture() {
    assert_allow_exactly(&manifests(), FLOWS);
}

/// Asserts that the policies of `manifests` allow exactly `flows` and each app's lookups in
/// the cluster DNS.
pub(crate) fn assert_allow_exactly(manifests: &[Value], flows: &[(&str, &str, &str)]) {
    let mut expected: BTreeSet<Flow> = flows.iter().map(|&(f, t, p)| flow(f, t, p)).collect();
    for app in endpoints(manifests).iter().filter(|e| e.is_ours()) {
        expected.insert(flow(&app.name, "kube-dns", "53/UDP"));
        expected.insert(flow(&app.name, "kube-dns", "53/TCP"));
    }
    let outside: BTreeSet<String> = endpoints(manifests)
        .into_iter()
        .filter(|e| !e.is_ours())
        .map(|e| e.name)
        .collect();
    // Each end is closed on its own: a rule too broad on one end is not excused by the
    // other end's.
    for direction in [Direction::Egress, Direction::Ingress] {
        let expected: BTreeSet<Flow> = expected
            .iter()
            .filter(|(from, to, _)| match direction {
                Direction::Egress => !outside.contains(from),
                Direction::Ingress => !outside.contains(to),
            })
            .cloned()
            .collect();
        let allowed = allowed(manifests, direction);
        let too_many: BTreeSet<Flow> = allowed.difference(&expected).cloned().collect();
        let missing: BTreeSet<Flow> = expected.difference(&allowed).cloned().collect();
        assert!(
            too_many.is_empty() && missing.is_empty(),
            "{direction:?} rules allow flows the architecture has not:{}\n\
             and do not allow flows it has:{}",
            list(&too_many),
            list(&missing)
        );
    }
}

#[test]
fn every_pod_is_under_the_default_deny() {
    let manifests = manifests();
    let deny = find(&manifests, "NetworkPolicy", "default-deny");
    let types: BTreeSet<&str> = policy_types(deny).into_iter().collect();
    assert_eq!(types, BTreeSet::from(["Ingress", "Egress"]));
    assert!(
        deny["spec"]["ingress"].is_null() && deny["spec"]["egress"].is_null(),
        "the default deny allows nothing"
    );
    for policy in policies(&manifests) {
        assert_eq!(
            policy["metadata"]["namespace"], NAMESPACE,
            "{}",
            policy["metadata"]["name"]
        );
    }
    let workloads = pod_templates(&manifests);
    assert!(!workloads.is_empty());
    for (workload, manifest, template) in workloads {
        assert_eq!(manifest["metadata"]["namespace"], NAMESPACE, "{workload}");
        assert!(
            selects(&deny["spec"]["podSelector"], &labels(template)),
            "{workload}: its pods are not under the default deny"
        );
    }
}

#[test]
fn the_ingress_controller_reaches_exactly_the_ingress_backends() {
    let manifests = manifests();
    let ingress = find(&manifests, "Ingress", "gittix");
    let backends = ingress["spec"]["rules"][0]["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|path| &path["backend"]["service"]);
    let mut routed = BTreeSet::new();
    for backend in backends {
        let service = find(&manifests, "Service", backend["name"].as_str().unwrap());
        let service_port = service["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == backend["port"]["number"])
            .unwrap_or_else(|| panic!("{service}: no port {}", backend["port"]));
        let app = service["spec"]["selector"]["app"].as_str().unwrap();
        let (_, _, template) = pod_templates(&manifests)
            .into_iter()
            .find(|(_, _, t)| labels(t).get("app").map(String::as_str) == Some(app))
            .unwrap_or_else(|| panic!("no pods for {app}"));
        let target = &service_port["targetPort"];
        let container_port = container_ports(template)
            .into_iter()
            .find(|c| match target.as_str() {
                Some(name) => c.name.as_deref() == Some(name),
                None => target.as_u64() == Some(c.port.number),
            })
            .unwrap_or_else(|| panic!("{app}: no container port {target}"));
        routed.insert(flow("ingress-nginx", app, &container_port.port.to_string()));
    }
    let reached: BTreeSet<Flow> = allowed(&manifests, Direction::Ingress)
        .into_iter()
        .filter(|(from, _, _)| from == "ingress-nginx")
        .collect();
    assert_eq!(reached, routed);
}

#[test]
fn the_ports_policies_name_are_ports_of_the_containers_they_point_at() {
    let manifests = manifests();
    let endpoints = endpoints(&manifests);
    // The internet's ports and those of an app no workload runs yet are not known.
    let known = || endpoints.iter().filter(|e| e.ports.is_some());
    for policy in policies(&manifests) {
        let name = &policy["metadata"]["name"];
        let selected: Vec<&Endpoint> = known()
            .filter(|e| e.is_ours() && selects(&policy["spec"]["podSelector"], &e.labels))
            .collect();
        for direction in [Direction::Ingress, Direction::Egress] {
            let (_, rules_key, peers_key) = direction.keys();
            for rule in policy["spec"][rules_key].as_array().into_iter().flatten() {
                // Ingress ports are the selected pods'; egress ports are the peers'.
                let targets: Vec<&Endpoint> = match direction {
                    Direction::Ingress => selected.clone(),
                    Direction::Egress => known()
                        .filter(|e| {
                            let peers = rule[peers_key].as_array().filter(|a| !a.is_empty());
                            peers.is_none_or(|peers| peers.iter().any(|p| peer_matches(p, e)))
                        })
                        .collect(),
                };
                for rule_port in rule["ports"].as_array().into_iter().flatten() {
                    assert!(!rule_port["port"].is_null(), "{name}: a port is given");
                    for target in &targets {
                        let mut ports = target.ports.iter().flatten();
                        let exists = ports.any(|c| port_admits(rule_port, &c.port, target));
                        assert!(
                            exists,
                            "{name}: {} has no container port {rule_port}",
                            target.name
                        );
                    }
                }
            }
        }
    }
}
