package org.cmm.eventbroker.stack;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * A real SMTP server for the notification flows, with IMAP to read what arrived (GreenMail, in memory). SMTP takes
 * mail for any address without authentication; every recipient gets a mailbox, readable over IMAP with the address
 * as both login and password. The operations mailbox is created up front.
 */
public final class MailServer implements AutoCloseable {

    private final GreenMail greenMail;
    private final ServerSetup smtp;
    private final ServerSetup imap;

    public MailServer(String host, int smtpPort, int imapPort, String mailbox) {
        smtp = new ServerSetup(smtpPort, host, ServerSetup.PROTOCOL_SMTP);
        imap = new ServerSetup(imapPort, host, ServerSetup.PROTOCOL_IMAP);
        greenMail = new GreenMail(new ServerSetup[] {smtp, imap});
        greenMail.setUser(mailbox, mailbox, mailbox);
    }

    public MailServer start() {
        greenMail.start();
        return this;
    }

    public GreenMail greenMail() {
        return greenMail;
    }

    @Override
    public void close() {
        greenMail.stop();
    }
}
