"""The NetSuite half of the purchasing push: a SuiteScript user-event script, kept as
text for users to deploy. Re-exported as :data:`erpsync.sync.purchasing.USER_EVENT_SCRIPT`.
"""

from __future__ import annotations

__all__ = ["USER_EVENT_SCRIPT"]

USER_EVENT_SCRIPT = r"""/**
 * erpsync: push purchase order changes to PurchaseOrderSync.handle_push.
 *
 * Upload as erpsync_po_push.js (the .js suffix matters: without it NetSuite answers
 * "MODULE NOT FOUND" when a purchase order is saved), create a User Event script from
 * it, add two script parameters and deploy it to Purchase Order (all roles, released):
 *   custscript_erpsync_push_url   Free-Form Text: the HTTPS URL of your push endpoint
 *   custscript_erpsync_secret     Free-Form Text: the script id of an API secret
 *                                 (Setup > Company > API Secrets) holding the shared secret,
 *                                 e.g. custsecret_erpsync_push; allow this script to use it
 *
 * The body is {"recordType": "purchaseorder", "id": "<internal id>", "event": "<type>"},
 * signed with HMAC-SHA256 in the X-Erpsync-Signature header as "sha256=<hex>". The
 * endpoint fetches the order from NetSuite, so the body carries nothing else.
 *
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 */
define(['N/crypto', 'N/encode', 'N/https', 'N/log', 'N/runtime'],
    (crypto, encode, https, log, runtime) => {

    const sign = (secretId, body) => {
        const key = crypto.createSecretKey({ secret: secretId, encoding: encode.Encoding.UTF_8 });
        const mac = crypto.createHmac({ algorithm: crypto.HashAlg.SHA256, key: key });
        mac.update({ input: body, inputEncoding: encode.Encoding.UTF_8 });
        return mac.digest({ outputEncoding: encode.Encoding.HEX }).toLowerCase();
    };

    const afterSubmit = (context) => {
        const record = context.type === context.UserEventType.DELETE
            ? context.oldRecord : context.newRecord;
        const script = runtime.getCurrentScript();
        const url = script.getParameter({ name: 'custscript_erpsync_push_url' });
        const secretId = script.getParameter({ name: 'custscript_erpsync_secret' });
        const body = JSON.stringify({
            recordType: 'purchaseorder',
            id: String(record.id),
            event: String(context.type),
        });
        try {
            const response = https.post({
                url: url,
                body: body,
                headers: {
                    'Content-Type': 'application/json',
                    'X-Erpsync-Signature': 'sha256=' + sign(secretId, body),
                },
            });
            if (response.code < 200 || response.code >= 300) {
                log.error({ title: 'erpsync push refused', details: String(response.code) });
            }
        } catch (e) {
            // Never block the save: the periodic erpsync run picks the order up anyway.
            log.error({ title: 'erpsync push failed', details: e.name + ': ' + e.message });
        }
    };

    return { afterSubmit: afterSubmit };
});
"""
"""SuiteScript 2.1 user-event script that pushes purchase order saves to
:meth:`~erpsync.sync.purchasing.PurchaseOrderSync.handle_push`.

Documentation, not tested code: SuiteScript runs only inside NetSuite, so this text
cannot be executed here (the Python side it calls, the signature format and the body
shape, are tested). Closing a purchase order edits it, so its lines' closing reaches
the endpoint through this script too; the periodic
:meth:`~erpsync.sync.purchasing.PurchaseOrderSync.run`
catches whatever a push misses (a failed POST, bulk "Close Orders" actions, records
changed while the script was not deployed), so seed 004's daily mass-update script is
not needed.
"""
