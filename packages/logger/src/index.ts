export { createLogger, type Logger } from './create-logger';
// The one masker of URL credentials lives in @anime/contracts (the client and `pnpm start` use it too).
export { redactUrlCredentialsInText } from '@anime/contracts';
export { FirstOccurrences, LineEvery, type Clock, type FirstOccurrencesOptions, type LineEveryOptions, type Tally } from './throttled-log';
