'use client';

import type { ReactNode } from 'react';

import { WorkersApiError } from '@/lib/client/api';

/** Describes a failed request for people, with the server's result codes. */
export function describeError(error: Error): string {
  if (error instanceof WorkersApiError) {
    return `${error.resultMsg} (${error.endpoint}, result ${error.resultCode}/${error.resultSubcode})`;
  }

  return error.message;
}

export function LoadingState({ label }: { label: string }) {
  return (
    <div role="status" className="state state-loading">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

interface ErrorStateProps {
  title: string;
  error: Error;
  onRetry: () => void;
  retrying: boolean;
}

/** Renders a failed request: what failed, the server's message, and a retry button. */
export function ErrorState({ title, error, onRetry, retrying }: ErrorStateProps) {
  return (
    <div role="alert" className="state state-error">
      <p className="state-title">{title}</p>
      <p className="state-detail">{describeError(error)}</p>
      <button type="button" className="button" onClick={onRetry} disabled={retrying}>
        {retrying ? 'Retrying…' : 'Retry'}
      </button>
    </div>
  );
}

/** Renders a warning for a failed background refresh while older data stays on screen. */
export function StaleDataWarning({ error, updatedAt, onRetry, retrying }: {
  error: Error;
  updatedAt: number;
  onRetry: () => void;
  retrying: boolean;
}) {
  return (
    <div role="alert" className="banner banner-warning">
      <span>
        Refresh failed: {describeError(error)}. Showing data from{' '}
        {new Date(updatedAt).toLocaleTimeString('en-GB')}.
      </span>
      <button type="button" className="button button-small" onClick={onRetry} disabled={retrying}>
        {retrying ? 'Retrying…' : 'Retry'}
      </button>
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children ? <div className="state-detail">{children}</div> : null}
    </div>
  );
}
