-- Workflow templates: studios' own ComfyUI graphs with named, typed parameters.
CREATE TABLE "workflow_templates" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "currentVersion" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "workflow_templates_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "workflow_templates_slug_key" ON "workflow_templates"("slug");

CREATE TABLE "workflow_template_versions" (
    "id" UUID NOT NULL,
    "templateId" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "graph" JSONB NOT NULL,
    "params" JSONB NOT NULL,
    "note" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "workflow_template_versions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "workflow_template_versions_templateId_fkey" FOREIGN KEY ("templateId") REFERENCES "workflow_templates"("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "workflow_template_versions_templateId_number_key" ON "workflow_template_versions"("templateId", "number");

-- A generation records the template version it ran (`slug@N`); a retry must render the same graph,
-- so the database itself refuses to change or remove a version.
CREATE FUNCTION "refuse_workflow_version_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'workflow template versions are immutable (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'P0001';
END;
$$;
CREATE TRIGGER "workflow_template_versions_immutable" BEFORE UPDATE OR DELETE ON "workflow_template_versions"
  FOR EACH ROW EXECUTE FUNCTION "refuse_workflow_version_change"();
