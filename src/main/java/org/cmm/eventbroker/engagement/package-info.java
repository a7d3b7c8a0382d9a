/**
 * Mobile and patient engagement (issue 16): the devices apps register for push notifications
 * ({@link org.cmm.eventbroker.engagement.DeviceRegistry}), and the push notification service
 * ({@link org.cmm.eventbroker.engagement.push}) that sends {@code notifications.push.*} to them over Web Push, APNs
 * and FCM. docs/engagement.md.
 */
package org.cmm.eventbroker.engagement;
