/**
 * The code of an error answer when a library refused the request with a status alone (body-parser,
 * send, Node's HTTP parser): one code per status, the one the gateway's own refusals of that status
 * use (415 is `unsupported_media_type` whether busboy, the reference check or the JSON parser says it).
 */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  408: 'request_timeout',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  431: 'headers_too_large',
};

export const errorCodeForStatus = (status: number): string => CODE_BY_STATUS[status] ?? 'bad_request';
