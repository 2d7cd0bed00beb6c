-- The filing try that owns a rendered generation's outputs: each try of asset-filing claims it
-- before writing to the library (the paths are a function of the job, so two tries write the same
-- files), and records Assets, completes the job or removes files only while it is still the owner.
-- A try whose queue job was handed to another instance (its lock expired) can then neither record
-- files that the owner removed nor remove files that the owner records.
ALTER TABLE "generation_jobs" ADD COLUMN "filingToken" UUID;
