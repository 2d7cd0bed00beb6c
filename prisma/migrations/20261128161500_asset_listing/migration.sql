-- GET /api/v1/assets lists newest first, by project or across the library: both orders come from an
-- index, so a page costs its limit, not a sort of every asset.
CREATE INDEX "assets_createdAt_id_idx" ON "assets"("createdAt", "id");
CREATE INDEX "assets_project_createdAt_id_idx" ON "assets"("project", "createdAt", "id");
