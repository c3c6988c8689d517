import type { Metadata } from 'next';
import { Suspense } from 'react';

import { LoadingState } from '@/components/query-states';
import { WorkerView } from '@/components/worker-view';

export const metadata: Metadata = { title: 'Worker' };

// Worker ids contain `/`, `:`, `%` and spaces, so the id is a query parameter, not a path segment.
export default function WorkerPage() {
  return (
    <Suspense fallback={<LoadingState label="Loading worker…" />}>
      <WorkerView />
    </Suspense>
  );
}
