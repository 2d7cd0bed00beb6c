-- Webhook log retention (WEBHOOK_LOG_RETENTION_DAYS): the gateway's sweep deletes, in bounded
-- batches and oldest first, delivery attempts and finished messages older than the retention. These
-- indexes let each batch find its rows without reading the whole table (the delivery log's only
-- index leads with the endpoint). Messages still owed (finishedAt null) are never deleted, so the
-- messages' index leaves them out.
CREATE INDEX "webhook_deliveries_createdAt_idx" ON "webhook_deliveries"("createdAt");
CREATE INDEX "webhook_messages_finished_idx" ON "webhook_messages"("finishedAt") WHERE "finishedAt" IS NOT NULL;
