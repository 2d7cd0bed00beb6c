-- GET /api/v1/assets?project=&episode=&scene= (a scene's shots, the library's usual view) comes from
-- this index in its order; by the project's index alone, every newer asset of the project was read
-- and dropped before an old scene's first one (a year's 11,700 assets of a project: 6,200 buffers,
-- 260 ms for an empty page; 3 buffers by this). By project and episode, the episode's assets are
-- read and sorted: an episode's, not the project's.
CREATE INDEX "assets_project_episode_scene_createdAt_id_idx" ON "assets"("project", "episode", "scene", "createdAt", "id");
-- By character or version the list is filtered by the versions' ids (looked up first): a character
-- with few assets is found by this index, not by walking the whole library newest first (560,000
-- assets: 45,000 buffers, 1.9 s for a character with 5).
CREATE INDEX "assets_characterVersionId_createdAt_id_idx" ON "assets"("characterVersionId", "createdAt", "id");
