-- A webhook endpoint whose receiver answered 410 Gone (Standard Webhooks: it no longer wants this
-- source's messages) is disabled: nothing more is sent to it. It stays listed, with the time, so its
-- owner sees why; deleting and registering it again starts anew.
ALTER TABLE "webhook_endpoints" ADD COLUMN "disabledAt" TIMESTAMP(3);
