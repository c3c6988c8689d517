/**
 * The one error type of the API. Handlers throw it; the dispatcher turns it into the
 * ClearML envelope with `result_code` as the HTTP status. Messages name the invalid
 * field and value, and `data` carries the offending values (`error_data`).
 */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly subcode: number,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** Renders a request value for an error message, cut to a readable length. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    // JSON writes Infinity (from a number like 1e400) as null, which would hide the value.
    text = value === undefined ? 'undefined' : JSON.stringify(value, jsonReplacer);
  } catch {
    // Only a value nested too deeply to print gets here.
    text = Array.isArray(value) ? '[...]' : '{...}';
  }

  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/**
 * Returns the offending value as error_data carries it: the value itself when it prints
 * as short JSON, else its description cut to length, so that no request value can make
 * the error response large or impossible to serialise.
 */
function errorDataValue(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return String(value);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }

  const text = describeValue(value);

  // The description is parsed back so that non-finite numbers inside stay visible as strings.
  return text.endsWith('...') || text === '[...]' || text === '{...}' ? text : JSON.parse(text);
}

/**
 * Formats error arguments as ClearML writes them after its message: `key=value` pairs
 * joined by commas, a list as `(a, b)`.
 */
function clearmlArguments(data: Record<string, unknown>): string {
  return Object.entries(data)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? `(${value.map(String).join(', ')})` : String(value)}`)
    .join(', ');
}

/** An error of ClearML's catalog services, with its message and arguments as ClearML writes them. */
function clearmlError(subcode: number, message: string, data: Record<string, unknown>, detail?: string): ApiError {
  const text = detail ? `${message} (${detail})` : message;

  return new ApiError(400, subcode, Object.keys(data).length > 0 ? `${text}: ${clearmlArguments(data)}` : text, data);
}

export const apiErrors = {
  invalidVersion: (version: string) =>
    new ApiError(
      400,
      2,
      `Request path has invalid version: '${version}' (expected v<major>.<minor>, for example v2.30)`,
      { version },
    ),
  endpointNotFound: (name: string, version: string) =>
    new ApiError(404, 0, `Unable to find endpoint for name ${name} and version ${version}`, {
      endpoint: name,
      version,
    }),
  invalidBody: (reason: string) =>
    new ApiError(400, 12, `Validation error: request body ${reason}`, {}),
  methodNotAllowed: (method: string) =>
    new ApiError(405, 0, `Method ${method} is not allowed: use GET, POST or PUT`, { method }),
  bodyTooLarge: (limitBytes: number) =>
    new ApiError(413, 0, `Request body too large: the limit is ${limitBytes} bytes`, {
      limit: limitBytes,
    }),
  missingFields: (fields: string[]) =>
    new ApiError(400, 11, `Missing required fields: ${fields.join(', ')}`, { fields }),
  validation: (field: string, value: unknown, reason: string, related: Record<string, unknown> = {}) =>
    new ApiError(
      400,
      12,
      `Validation error: invalid value ${describeValue(value)} for field '${field}': ${reason}`,
      { field, value: errorDataValue(value), ...related },
    ),
  fieldsValue: (fields: Record<string, unknown>, reason: string) =>
    new ApiError(400, 16, `Invalid value for fields: ${reason}`, fields),
  invalidWorkerId: (worker: string) =>
    new ApiError(
      400,
      1001,
      `Invalid worker id: worker ${describeValue(worker)} is not registered or has expired (register it again)`,
      { worker },
    ),
  workerRegistrationFailed: (worker: string, reason: string, data: Record<string, unknown>) =>
    new ApiError(400, 1002, `Worker registration failed for ${describeValue(worker)}: ${reason}`, {
      worker,
      ...data,
    }),
  workerNotRegistered: (worker: string) =>
    new ApiError(400, 1004, `Worker is not registered: ${describeValue(worker)}`, { worker }),
  workerStatsNotFound: (workerIds: string[] | undefined) =>
    new ApiError(
      400,
      1005,
      workerIds?.length
        ? `Worker stats not found for workers ${describeValue(workerIds)}`
        : 'Worker stats not found: no worker of this company has reported stats',
      { worker_ids: workerIds ?? [] },
    ),
  noCredentials: () =>
    new ApiError(
      401,
      20,
      'Unauthorized (missing credentials): send HTTP Basic with an access key and secret key, or a Bearer token from auth.login',
    ),
  badAuthType: (scheme: string) =>
    new ApiError(401, 10, `Unauthorized (bad authentication header type): ${describeValue(scheme)}, use Basic or Bearer`, {
      scheme,
    }),
  malformedCredentials: (reason: string) => new ApiError(401, 21, `Unauthorized (malformed credentials): ${reason}`),
  invalidCredentials: () =>
    new ApiError(401, 22, 'Unauthorized (invalid credentials): unknown or revoked access key, or wrong secret key'),
  invalidToken: (reason: string) => new ApiError(401, 30, `Invalid token: ${reason}`),
  invalidTaskId: (id: string | string[], companyId: string) =>
    clearmlError(101, 'Invalid task id', { id, company: companyId }),
  invalidTaskStatus: (currentStatus: string, newStatus: string, reason: string) =>
    clearmlError(110, 'Invalid task status', { current_status: currentStatus, new_status: newStatus }, reason),
  failedChangingTaskStatus: (taskId: string, currentStatus: string, newStatus: string) =>
    clearmlError(121, 'Failed changing task status. probably someone changed it before you', {
      task_id: taskId,
      current_status: currentStatus,
      new_status: newStatus,
    }),
  taskCannotBeDeleted: (taskId: string, status: string) =>
    clearmlError(123, 'Task cannot be deleted', { task: taskId, expected: 'created', current: status }, 'due to status, use force=True'),
  invalidProjectId: (id: string, companyId: string) =>
    clearmlError(401, 'Invalid project id', { id, company: companyId }),
  invalidQueueId: (id: string | string[], companyId: string) =>
    clearmlError(701, 'Invalid queue id', { id, company: companyId }),
  queueNotEmpty: (id: string) => clearmlError(702, 'Queue is not empty', { id }, 'use force=true to delete'),
  taskNotQueued: (taskId: string, queueId: string, companyId: string) =>
    clearmlError(703, 'Invalid queue id or task not in queue', { task: taskId, id: queueId, company: companyId }),
  taskAlreadyQueued: (taskId: string) =>
    clearmlError(706, 'Failed adding task to queue since task is already queued', { task: taskId }),
  noDefaultQueue: () => clearmlError(707, 'No queue is tagged as the default queue for this company', {}),
  multipleDefaultQueues: (ids: string[]) =>
    clearmlError(708, 'More than one queue is tagged as the default queue for this company', { queues: ids }),
  databaseUnavailable: () =>
    new ApiError(503, 102, 'Service unavailable: the database cannot be reached, retry later'),
  internal: () => new ApiError(500, 0, 'Internal server error (details are in the server log)'),
};
