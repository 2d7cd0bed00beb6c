import { simulatedFailure, type NodeFailure } from './simulated-failures';

/** Failures armed by failNext, each spent on the next prompt that runs. */
export class FailureSwitch {
  private readonly armed: NodeFailure[] = [];

  arm(message?: string, exceptionType?: string): void {
    this.armed.push(simulatedFailure(message, exceptionType));
  }

  take(): NodeFailure | undefined {
    return this.armed.shift();
  }
}
