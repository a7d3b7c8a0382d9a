package org.cmm.eventbroker.cds;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Turns one alert (a {@link CdsAlert}, or a {@link CdsRuleEngine.DueCareGap}) into the record the cds-alert-sink
 * Kamelet publishes: JSON body, the CloudEvents headers and cds_alert_type / cds_alert_priority for the topic. The
 * triggering record's headers are dropped first, so nothing of the input message travels with the alert.
 */
public class CdsAlertRecord implements Processor {

    @Override
    public void process(Exchange exchange) throws Exception {
        Message m = exchange.getMessage();
        Object body = m.getBody();
        CdsAlert alert;
        if (body instanceof CdsRuleEngine.DueCareGap gap) {
            alert = gap.alert();
            exchange.setProperty(ClinicalDecisionSupport.FOLLOW_UP, gap);
        } else {
            alert = m.getMandatoryBody(CdsAlert.class);
        }
        m.removeHeaders("*");
        m.setHeader("cds_alert_type", alert.type());
        m.setHeader("cds_alert_priority", alert.priority());
        m.setHeader("cds_alert_id", alert.alertId());
        m.setHeader("cds_rule_id", alert.ruleId());
        m.setHeader("ce_specversion", "1.0");
        m.setHeader("ce_id", alert.alertId());
        m.setHeader("ce_source", "/cmm/cds/" + alert.ruleId());
        m.setHeader("ce_time", alert.createdAt());
        m.setHeader("ce_subject", alert.patientId());
        m.setHeader("content-type", "application/json");
        m.setBody(alert.toJson());
    }
}
