export { createLogger, type Logger } from './create-logger';
export { redactUrlCredentialsInText } from './redact-url-credentials';
