export * from './stage-faults';
export * from './classify-fault';
