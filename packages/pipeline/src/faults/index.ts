export * from './stage-faults';
export * from './classify-fault';
export * from './storable-job-error';
export * from './queue-visible-error';
