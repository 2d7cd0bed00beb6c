-- Reference images already uploaded to each ComfyUI backend.
CREATE TABLE "backend_uploads" (
    "backend" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "subfolder" TEXT NOT NULL,
    "uploadedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "backend_uploads_pkey" PRIMARY KEY ("backend","sha256")
);
