-- A backend whose worker is stuck on a prompt that went on running past its interrupt (a node that
-- does not return, a dead worker thread: comfyui-protocol.md §10), as the orchestrator that saw it
-- recorded it: every orchestrator reads it with the drain flags and takes the backend for down until
-- its own look at ComfyUI's queue shows the prompt gone. Learned from its own prompts alone, another
-- replica (or a restarted one) kept sending prompts there, each waiting until JOB_TIMEOUT_S.
ALTER TABLE "backends" ADD COLUMN "stuckPromptId" TEXT, ADD COLUMN "stuckSince" TIMESTAMP(3);
