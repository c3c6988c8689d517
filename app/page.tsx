import type { Metadata } from 'next';
import { Suspense } from 'react';

import { LoadingState } from '@/components/query-states';
import { WorkersOverview } from '@/components/workers-overview';

export const metadata: Metadata = { title: 'Workers' };

// The filter lives in the URL, so the view renders in the browser below a Suspense boundary.
export default function WorkersPage() {
  return (
    <Suspense fallback={<LoadingState label="Loading workers…" />}>
      <WorkersOverview />
    </Suspense>
  );
}
