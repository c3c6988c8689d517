'use client';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';

import { WorkersApiError } from '@/lib/client/api';

/** Server failures and lost connections are retried twice; client errors (4xx) are final at once. */
function shouldRetry(failureCount: number, error: Error): boolean {
  if (error instanceof WorkersApiError && error.resultCode >= 400 && error.resultCode < 500) return false;

  return failureCount < 2;
}

function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: shouldRetry,
        // The pages poll on their own schedule; a window focus refetch on top only adds load.
        refetchOnWindowFocus: false,
      },
    },
  });
}

/** Provides the root layout's client-side context: one react-query cache per browser tab. */
export function Providers({ children }: { children: ReactNode }) {
  // useState keeps one client per mounted tree, and a fresh one per server render.
  const [queryClient] = useState(createQueryClient);

  return <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>;
}
