package org.cmm.eventbroker.cds;

/** The rules file (or the interaction table it names) cannot be used; the message names the rule and the field. */
public class InvalidCdsRulesException extends IllegalArgumentException {

    public InvalidCdsRulesException(String message) {
        super(message);
    }
}
