import { ErrorCode } from 'bullmq';
import { jobMovedRefusal } from './job-moved-refusal';

// BullMQ's refusals carry their code on the Error (finishedErrors); the message is for people.
const refusal = (code: number) => Object.assign(new Error(`refused with ${code}`), { code });

describe('jobMovedRefusal', () => {
  it('answers a job no longer in the expected state 409 job_state_changed, and one removed 404 job_not_found', () => {
    expect(jobMovedRefusal(refusal(ErrorCode.JobNotInState), 'w-1', 'failed')).toMatchObject({ status: 409, code: 'job_state_changed', details: { jobId: 'w-1', expected: 'failed' } });
    expect(jobMovedRefusal(refusal(ErrorCode.JobNotExist), 'w-1', 'failed')).toMatchObject({ status: 404, code: 'job_not_found', details: { jobId: 'w-1' } });
  });

  it('leaves any other failure alone (null): the caller throws it', () => {
    expect(jobMovedRefusal(refusal(ErrorCode.JobLockMismatch), 'w-1', 'failed')).toBeNull();
    expect(jobMovedRefusal(new Error('Connection is closed.'), 'w-1', 'failed')).toBeNull();
    expect(jobMovedRefusal(undefined, 'w-1', 'failed')).toBeNull();
  });
});
