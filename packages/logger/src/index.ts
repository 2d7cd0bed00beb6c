export { createLogger, type Logger } from './create-logger';
export { withContext, currentContext, type LogContext } from './log-context';
