'use client';

import { useSearchParams } from 'next/navigation';
import { useMemo, type ReactNode } from 'react';

import { buildActivityChartData } from '@/lib/client/chart-data';
import { formatDuration } from '@/lib/client/format';
import { useActivityReport } from '@/lib/client/queries';
import { TIME_RANGES, timeRangeParamSchema } from '@/lib/client/time-range';
import { updateSearchParams } from '@/lib/client/url-state';

import { ErrorState, LoadingState, StaleDataWarning } from './query-states';
import { TimeRangePicker } from './time-range-picker';
import { TimeSeriesChart } from './time-series-chart';

function Summary({ label, value }: { label: string; value: number }) {
  return (
    <div className="summary">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/** Renders the fleet activity page: reporting and busy workers per bucket over the range in the URL. */
export function ActivityView() {
  const searchParams = useSearchParams();
  const range = timeRangeParamSchema.parse(searchParams.get('range') ?? undefined);
  const activity = useActivityReport(range);
  const activityData = activity.data;
  const chartData = useMemo(() => (activityData ? buildActivityChartData(activityData.report, activityData.interval) : null), [activityData]);

  let content: ReactNode;
  if (activity.isPending) {
    content = <LoadingState label="Loading fleet activity…" />;
  } else if (activity.isError && !activityData) {
    content = (
      <ErrorState
        title="Could not load the fleet activity"
        error={activity.error}
        onRetry={() => void activity.refetch()}
        retrying={activity.isFetching}
      />
    );
  } else if (activityData && chartData) {
    const totals = activityData.report.total.counts;
    const actives = activityData.report.active.counts;
    const bucket = formatDuration(activityData.interval);
    content = (
      <>
        {activity.isError ? (
          <StaleDataWarning
            error={activity.error}
            updatedAt={activity.dataUpdatedAt}
            onRetry={() => void activity.refetch()}
            retrying={activity.isFetching}
          />
        ) : null}
        <dl className="summaries">
          <Summary label="Reporting in the last full bucket" value={totals.at(-1) ?? 0} />
          <Summary label="Running a task in the last full bucket" value={actives.at(-1) ?? 0} />
          <Summary label={`Peak reporting over ${TIME_RANGES[range].label}`} value={Math.max(0, ...totals)} />
          <Summary label={`Peak running a task over ${TIME_RANGES[range].label}`} value={Math.max(0, ...actives)} />
        </dl>
        <TimeSeriesChart
          title="Fleet activity"
          unit="workers"
          data={chartData}
          fromMs={activityData.fromDate * 1000}
          toMs={activityData.toDate * 1000}
          yDomain={[0, 'auto']}
          curve="stepAfter"
          integerValues
          description={`Distinct workers that sent a status report in each ${bucket} bucket, and those whose report named a task.`}
        />
      </>
    );
  }

  return (
    <>
      <div className="page-heading">
        <h1>Fleet activity</h1>
      </div>
      <div className="toolbar">
        <TimeRangePicker value={range} onChange={(next) => updateSearchParams({ range: next }, 'push')} />
      </div>
      {content}
    </>
  );
}
