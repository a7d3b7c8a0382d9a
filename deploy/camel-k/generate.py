#!/usr/bin/env python3
"""Writes deploy/camel-k/*.integration.yaml from routes/ (run from the repository root after changing a route):

    python3 deploy/camel-k/generate.py

Each Integration inlines its route files (CamelKManifestsTest fails when a copy differs from routes/), lists the
Kamelets they use, and sets every {{placeholder}} they use as a camel trait property: the application.properties
default, or the cluster value in OVERRIDES. Kafka's address comes from the ConfigMap cmm-event-broker-kafka.
Python 3 standard library only.
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "deploy" / "camel-k"
PROJECT_JAR = "mvn:org.cmm.eventbroker:cmm-event-broker:0.1.0-SNAPSHOT"
KAFKA_CONFIG = "cmm-event-broker-kafka"

ERRORS_HL7 = "routes/ehr/hl7-inbound-error-handling.camel.yaml"
ERRORS_OUTBOUND = "routes/platform/outbound-delivery-error-handling.camel.yaml"
HEALTH = "routes/platform/health-checks.camel.yaml"
ERRORS_WORKFLOW = "routes/workflow/workflow-error-handling.camel.yaml"
ERRORS_CDS = "routes/cds/cds-error-handling.camel.yaml"
ERRORS_DEVICE_ALERTS = "routes/device/device-alerts-error-handling.camel.yaml"
ERRORS_DEVICE = "routes/device/device-ingest-error-handling.camel.yaml"
ERRORS_FHIR_DELIVERY = "routes/fhir/fhir-subscription-delivery-error-handling.camel.yaml"
ERRORS_FHIR_SUBSCRIPTIONS = "routes/fhir/fhir-subscription-processing-error-handling.camel.yaml"
FHIR_BEANS = "routes/fhir/fhir-beans.camel.yaml"

# name -> (flow file, extra sources it needs, property key of the MLLP port it listens on, serves HTTP)
INTEGRATIONS = {
    "hl7-mllp-inbound": ("routes/ehr/hl7-mllp-inbound.camel.yaml", [ERRORS_HL7, HEALTH], "cmm.mllp.port", False),
    "ehr-api-events": ("routes/ehr/ehr-api-events.camel.yaml",
                       ["routes/ehr/ehr-api-error-handling.camel.yaml", HEALTH], None, True),
    "lab-orders-to-lis": ("routes/lab/lab-orders-to-lis.camel.yaml", [ERRORS_OUTBOUND, HEALTH], None, False),
    "lab-results-mllp-inbound": ("routes/lab/lab-results-mllp-inbound.camel.yaml", [ERRORS_HL7, HEALTH],
                                 "cmm.lab.results.port", False),
    "lab-results-to-ehr": ("routes/lab/lab-results-to-ehr.camel.yaml", [ERRORS_OUTBOUND, HEALTH], None, False),
    "pharmacy-dispensing-mllp-inbound": ("routes/pharmacy/pharmacy-dispensing-mllp-inbound.camel.yaml",
                                         [ERRORS_HL7, HEALTH], "cmm.pharmacy.dispensing.port", False),
    "pharmacy-dispensing-to-ehr": ("routes/pharmacy/pharmacy-dispensing-to-ehr.camel.yaml",
                                   [ERRORS_OUTBOUND, HEALTH], None, False),
    "pharmacy-orders-to-pharmacy": ("routes/pharmacy/pharmacy-orders-to-pharmacy.camel.yaml",
                                    [ERRORS_OUTBOUND, HEALTH], None, False),
    "workflow-triggers-from-hl7": ("routes/workflow/workflow-triggers-from-hl7.camel.yaml",
                                   [ERRORS_WORKFLOW, HEALTH], None, False),
    "workflow-engine-caller": ("routes/workflow/workflow-engine-caller.camel.yaml", [ERRORS_WORKFLOW, HEALTH], None, False),
    "workflow-state-callbacks": ("routes/workflow/workflow-state-callbacks.camel.yaml",
                                 ["routes/workflow/workflow-callback-error-handling.camel.yaml", HEALTH], None, True),
    "workflow-task-worker": ("routes/workflow/workflow-task-worker.camel.yaml", [ERRORS_WORKFLOW, HEALTH], None, False),
    "cds-rules-engine": ("routes/cds/cds-rules-engine.camel.yaml", [ERRORS_CDS, HEALTH], None, False),
    "cds-alerts-to-ehr": ("routes/cds/cds-alerts-to-ehr.camel.yaml", [ERRORS_CDS, HEALTH], None, False),
    "device-alerts-mllp-inbound": ("routes/device/device-alerts-mllp-inbound.camel.yaml",
                                   [ERRORS_DEVICE_ALERTS, HEALTH], "cmm.device.alerts.pcd.port", False),
    "device-alerts-mqtt-inbound": ("routes/device/device-alerts-mqtt-inbound.camel.yaml",
                                   [ERRORS_DEVICE_ALERTS, HEALTH], None, False),
    "device-alerts-http-inbound": ("routes/device/device-alerts-http-inbound.camel.yaml",
                                   [ERRORS_DEVICE_ALERTS, HEALTH], None, True),
    "device-alert-processing": ("routes/device/device-alert-processing.camel.yaml",
                                [ERRORS_DEVICE_ALERTS, HEALTH], None, False),
    "device-mqtt-ingest": ("routes/device/device-mqtt-ingest.camel.yaml", [ERRORS_DEVICE, HEALTH], None, False),
    "device-http-ingest": ("routes/device/device-http-ingest.camel.yaml", [ERRORS_DEVICE, HEALTH], None, True),
    "device-pcd01-mllp-inbound": ("routes/device/device-pcd01-mllp-inbound.camel.yaml", [ERRORS_DEVICE, HEALTH],
                                  "cmm.device.pcd.port", False),
    "fhir-subscription-rest-hook-delivery": ("routes/fhir/fhir-subscription-rest-hook-delivery.camel.yaml",
                                             [ERRORS_FHIR_DELIVERY, FHIR_BEANS, HEALTH], None, False),
    "fhir-subscription-heartbeat": ("routes/fhir/fhir-subscription-heartbeat.camel.yaml",
                                    [FHIR_BEANS, HEALTH], None, False),
    "fhir-subscription-websocket-delivery": ("routes/fhir/fhir-subscription-websocket-delivery.camel.yaml",
                                             [ERRORS_FHIR_DELIVERY, FHIR_BEANS, HEALTH], None, False),
    "fhir-subscription-email-delivery": ("routes/fhir/fhir-subscription-email-delivery.camel.yaml",
                                         [ERRORS_FHIR_DELIVERY, FHIR_BEANS, HEALTH], None, False),
    "fhir-subscription-sms-delivery": ("routes/fhir/fhir-subscription-sms-delivery.camel.yaml",
                                       [ERRORS_FHIR_DELIVERY, FHIR_BEANS, HEALTH], None, False),
    "fhir-subscription-registration": ("routes/fhir/fhir-subscription-registration.camel.yaml",
                                       [ERRORS_FHIR_SUBSCRIPTIONS, FHIR_BEANS, HEALTH], None, False),
    "fhir-subscription-matcher": ("routes/fhir/fhir-subscription-matcher.camel.yaml",
                                  [ERRORS_FHIR_SUBSCRIPTIONS, FHIR_BEANS, HEALTH], None, False),
    "fhir-change-intake": ("routes/fhir/fhir-change-intake.camel.yaml",
                           ["routes/fhir/fhir-change-intake-error-handling.camel.yaml", HEALTH], None, True),
    "fhir-history-connector": ("routes/fhir/fhir-history-connector.camel.yaml", [HEALTH], None, False),
}

# Values that differ on a cluster: the peers are Kubernetes services (or addresses) of your site, not 127.0.0.1.
OVERRIDES = {
    "cmm.lab.lis.host": "lis-mllp",
    "cmm.pharmacy.system.host": "pharmacy-mllp",
    "cmm.ehr.mllp.host": "ehr-mllp",
    "cmm.workflow.engine.url": "http://workflow-engine:8080/engine-rest",
    # the CDS rules file is not a route: it comes from the ConfigMap cmm-cds-rules, mounted below
    # (kubectl create configmap cmm-cds-rules --from-file=routes/cds/cds-rules.yaml)
    "cmm.cds.rules-file": "file:/etc/camel/conf.d/_configmaps/cmm-cds-rules/cds-rules.yaml",
    "cmm.fhir.server.base-url": "http://fhir-server:8080/fhir",
    # the SubscriptionTopics file is not a route either: ConfigMap cmm-fhir-subscription-topics, mounted below
    "cmm.fhir.subscription.topics-file":
        "file:/etc/camel/conf.d/_configmaps/cmm-fhir-subscription-topics/subscription-topics.yaml",
    # deploying the history connector's Integration means following the FHIR server's _history
    "cmm.fhir.history.enabled": "true",
}
# Provided by the mounted ConfigMap, not by the camel trait.
FROM_CONFIGMAP = {"cmm.kafka.bootstrap-servers"}

PLACEHOLDER = re.compile(r"\{\{(\?)?([A-Za-z0-9_.-]+)(?::[^}]*)?}}")


def defaults():
    values = {}
    for line in (ROOT / "src/main/resources/application.properties").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def manifest(name, flow, extra, mllp_port_key, http, props):
    files = [flow] + extra
    texts = [(ROOT / f).read_text() for f in files]
    joined = "".join(texts)
    used = sorted({m.group(2) for m in PLACEHOLDER.finditer(joined) if not m.group(1)})
    kamelets = sorted(set(re.findall(r"kamelet:([a-z0-9-]+)", joined)))
    lines = [
        f"# Camel K Integration of the flow {flow}.",
        f"# Generated by deploy/camel-k/generate.py: sources are copies of {', '.join(files)}",
        "# (CamelKManifestsTest fails when they differ); edit the route files and run the generator, not this file.",
        f"# Needs the project's Kamelets installed (kubectl apply -f kamelets/), the ConfigMap {KAFKA_CONFIG}",
        f"# (cmm-event-broker-kafka.configmap.yaml) and {PROJECT_JAR} in a Maven repository the operator can reach.",
        "apiVersion: camel.apache.org/v1",
        "kind: Integration",
        "metadata:",
        f"  name: {name}",
        "  labels:",
        "    app.kubernetes.io/part-of: cmm-event-broker",
        "spec:",
        "  sources:",
    ]
    for f, text in zip(files, texts):
        lines.append(f"    - name: {pathlib.Path(f).name}")
        lines.append("      content: |")
        for line in text.rstrip("\n").split("\n"):
            lines.append(("        " + line) if line else "")
    deps = [PROJECT_JAR, "camel:kamelet", "camel:kafka"]
    if "direct:" in joined:
        deps.append("camel:direct")
    if "platform-http:" in joined:
        deps.append("camel:platform-http")
    # an HTTP client endpoint, written as a URL or as the placeholder of one (the workflow engine's)
    if re.search(r'uri: "(https?:|\{\{cmm\.workflow\.engine\.url}}|\{\{cmm\.fhir\.subscription\.sms\.gateway-url}})', joined):
        deps.append("camel:http")
    if 'uri: "smtp' in joined:
        deps.append("camel:mail")
    if 'uri: "vertx-websocket:' in joined:
        deps.append("camel:vertx-websocket")
    if "paho-mqtt5:" in joined:
        deps.append("camel:paho-mqtt5")
    if re.search(r"uri: fhir:", joined):
        deps.append("camel:fhir")
    if re.search(r"uri: timer:", joined):
        deps.append("camel:timer")
    if re.search(r"^\s*- bean:", joined, re.M):
        deps.append("camel:bean")
    lines.append("  dependencies:")
    lines += [f"    - {quote(d)}" for d in deps]
    lines.append("  traits:")
    lines.append("    camel:")
    lines.append("      # every {{placeholder}} of the sources; application.properties defaults unless the cluster differs")
    lines.append("      properties:")
    for key in used:
        if key in FROM_CONFIGMAP:
            continue
        value = OVERRIDES.get(key, props[key])
        lines.append(f"        - {quote(key + '=' + value)}")
    lines.append("    kamelets:")
    lines.append(f"      list: {quote(','.join(kamelets))}")
    lines.append("    mount:")
    lines.append("      # cmm.kafka.bootstrap-servers (and, for a secured cluster, a secret:... with the client credentials)")
    lines.append("      configs:")
    lines.append(f"        - configmap:{KAFKA_CONFIG}")
    if "cmm.cds.rules-file" in used:
        lines.append(f"        - configmap:{CDS_RULES_CONFIG}")
    if "cmm.fhir.subscription.topics-file" in used:
        lines.append(f"        - configmap:{TOPICS_CONFIG}")
    if http:
        lines.append("    service:")
        lines.append("      # the webhooks (platform-http) on the runtime's HTTP port, as a ClusterIP Service")
        lines.append("      enabled: true")
    if mllp_port_key:
        port = props[mllp_port_key]
        lines += [
            "---",
            f"# MLLP is plain TCP, which Camel K's service trait does not expose: this Service publishes {mllp_port_key}.",
            "apiVersion: v1",
            "kind: Service",
            "metadata:",
            f"  name: {name}-mllp",
            "  labels:",
            "    app.kubernetes.io/part-of: cmm-event-broker",
            "spec:",
            "  selector:",
            f"    camel.apache.org/integration: {name}",
            "  ports:",
            "    - name: mllp",
            "      protocol: TCP",
            f"      port: {port}",
            f"      targetPort: {port}",
        ]
    return "\n".join(lines) + "\n"


CDS_RULES = "routes/cds/cds-rules.yaml"
CDS_RULES_CONFIG = "cmm-cds-rules"


def cds_rules_configmap():
    """The CDS rules file (not a route, so not an Integration source) as the ConfigMap the rules engine mounts."""
    lines = [
        f"# The CDS rules of {CDS_RULES}, mounted by the cds-rules-engine Integration (configmap:{CDS_RULES_CONFIG}).",
        "# Generated by deploy/camel-k/generate.py: edit the rules file and run the generator, not this file.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        f"  name: {CDS_RULES_CONFIG}",
        "  labels:",
        "    app.kubernetes.io/part-of: cmm-event-broker",
        "data:",
        "  cds-rules.yaml: |",
    ]
    for line in (ROOT / CDS_RULES).read_text().rstrip("\n").split("\n"):
        lines.append(("    " + line) if line else "")
    return "\n".join(lines) + "\n"


TOPICS = "routes/fhir/subscription-topics.yaml"
TOPICS_CONFIG = "cmm-fhir-subscription-topics"


def topics_configmap():
    """The SubscriptionTopics file as the ConfigMap the FHIR subscription registration and matcher mount."""
    lines = [
        f"# The SubscriptionTopics of {TOPICS}, mounted by the fhir-subscription-* Integrations (configmap:{TOPICS_CONFIG}).",
        "# Generated by deploy/camel-k/generate.py: edit the topics file and run the generator, not this file.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        f"  name: {TOPICS_CONFIG}",
        "  labels:",
        "    app.kubernetes.io/part-of: cmm-event-broker",
        "data:",
        "  subscription-topics.yaml: |",
    ]
    for line in (ROOT / TOPICS).read_text().rstrip("\n").split("\n"):
        lines.append(("    " + line) if line else "")
    return "\n".join(lines) + "\n"


def main():
    props = defaults()
    names = []
    (OUT / f"{CDS_RULES_CONFIG}.configmap.yaml").write_text(cds_rules_configmap())
    names.append(f"{CDS_RULES_CONFIG}.configmap.yaml")
    (OUT / f"{TOPICS_CONFIG}.configmap.yaml").write_text(topics_configmap())
    names.append(f"{TOPICS_CONFIG}.configmap.yaml")
    for name, (flow, extra, mllp, http) in INTEGRATIONS.items():
        path = OUT / f"{name}.integration.yaml"
        path.write_text(manifest(name, flow, extra, mllp, http, props))
        names.append(path.name)
    kustomization = ["# Everything of deploy/camel-k: kubectl apply -k deploy/camel-k (after the Kamelets, see kamelets/).",
                     "apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:",
                     f"  - {KAFKA_CONFIG}.configmap.yaml"] + [f"  - {n}" for n in sorted(names)]
    (OUT / "kustomization.yaml").write_text("\n".join(kustomization) + "\n")
    kamelets = sorted(p.name for p in (ROOT / "kamelets").glob("*.kamelet.yaml"))
    k = ["# The project's Kamelets as custom resources (files outside this folder, so kustomize needs:",
         "#   kubectl kustomize --load-restrictor LoadRestrictionsNone deploy/camel-k/kamelets | kubectl apply -f -",
         "# or simply: kubectl apply -f kamelets/",
         "apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"] + \
        [f"  - ../../../kamelets/{n}" for n in kamelets]
    (OUT / "kamelets" / "kustomization.yaml").write_text("\n".join(k) + "\n")


if __name__ == "__main__":
    main()
