import type { Metadata } from 'next';
import { Suspense } from 'react';

import { ActivityView } from '@/components/activity-view';
import { LoadingState } from '@/components/query-states';

export const metadata: Metadata = { title: 'Fleet activity' };

export default function ActivityPage() {
  return (
    <Suspense fallback={<LoadingState label="Loading fleet activity…" />}>
      <ActivityView />
    </Suspense>
  );
}
