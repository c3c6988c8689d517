'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useMemo, type ReactNode } from 'react';

import { buildMetricChartData, type ChartData } from '@/lib/client/chart-data';
import { formatDuration } from '@/lib/client/format';
import { chartsForMetricKeys, METRIC_SECTIONS, type MetricChartDefinition } from '@/lib/client/metric-charts';
import { useWorkerEntries, useWorkerMetricKeys, useWorkerStats } from '@/lib/client/queries';
import { flagParamSchema, TIME_RANGES, timeRangeParamSchema, type TimeRangeKey } from '@/lib/client/time-range';
import { updateSearchParams } from '@/lib/client/url-state';
import { useNow } from '@/lib/client/use-now';
import { workerIdSchema, type MetricKey } from '@/lib/schemas/workers';

import { EmptyState, ErrorState, LoadingState, StaleDataWarning } from './query-states';
import { TimeRangePicker } from './time-range-picker';
import { TimeSeriesChart } from './time-series-chart';
import { UrlCheckbox } from './url-checkbox';
import { WorkerDetails } from './worker-details';

/** Renders the worker page for the `id`, `range` and `split` query parameters. */
export function WorkerView() {
  const searchParams = useSearchParams();
  const workerId = workerIdSchema.safeParse(searchParams.get('id') ?? undefined);
  const range = timeRangeParamSchema.parse(searchParams.get('range') ?? undefined);
  const splitByVariant = flagParamSchema.parse(searchParams.get('split'));

  if (!workerId.success) {
    return (
      <>
        <WorkerHeading title="No worker selected" />
        <EmptyState title="This page needs a worker id">
          The worker id is missing or invalid ({workerId.error.issues[0]?.message ?? 'unknown reason'}). Open a
          worker from the <Link href="/">workers table</Link>.
        </EmptyState>
      </>
    );
  }

  return <WorkerPage workerId={workerId.data} range={range} splitByVariant={splitByVariant} />;
}

function WorkerHeading({ title }: { title: string }) {
  return (
    <div className="page-heading page-heading-stacked">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link href="/">Workers</Link> <span aria-hidden="true">›</span>
      </nav>
      <h1 className="worker-title">{title}</h1>
    </div>
  );
}

interface WorkerPageProps {
  workerId: string;
  range: TimeRangeKey;
  splitByVariant: boolean;
}

function WorkerPage({ workerId, range, splitByVariant }: WorkerPageProps) {
  const nowMs = useNow();
  const entries = useWorkerEntries(workerId);
  const metricKeys = useWorkerMetricKeys(workerId);
  const reportedKeys = metricKeys.data;
  const charts = useMemo(() => chartsForMetricKeys(new Set(reportedKeys ?? [])), [reportedKeys]);
  const metrics = useMemo(
    () => charts.flatMap((chart) => chart.metrics.filter((metric) => reportedKeys?.includes(metric))),
    [charts, reportedKeys],
  );
  const isLive = entries.data !== undefined && entries.data.length > 0;
  const hasStats = reportedKeys !== undefined && reportedKeys.length > 0;

  let status: ReactNode;
  if (entries.isPending) {
    status = <LoadingState label="Checking whether the worker is live…" />;
  } else if (entries.isError && !entries.data) {
    status = (
      <ErrorState
        title="Could not load the worker's details"
        error={entries.error}
        onRetry={() => void entries.refetch()}
        retrying={entries.isFetching}
      />
    );
  } else if (isLive) {
    status = entries.data.map((entry) => (
      <section key={entry.key} className="panel" aria-label={`Details of ${entry.id}`}>
        <p className="panel-title">
          <span className="badge badge-live">Live</span>
        </p>
        <WorkerDetails worker={entry} nowMs={nowMs} />
      </section>
    ));
  } else if (hasStats) {
    status = (
      <p role="note" className="banner banner-info">
        This worker is not live: it unregistered or stopped reporting until its timeout expired. Its stored stats
        are shown below.
      </p>
    );
  } else if (metricKeys.isSuccess) {
    status = (
      <EmptyState title="Unknown worker">
        No live worker has this id, and no stats were stored for it. Ids are matched exactly, including case and
        spaces.
      </EmptyState>
    );
  }

  return (
    <>
      <WorkerHeading title={workerId} />
      {status}
      {reportedKeys !== undefined && (isLive || hasStats) ? (
        <WorkerCharts
          workerId={workerId}
          range={range}
          splitByVariant={splitByVariant}
          charts={charts}
          metrics={metrics}
        />
      ) : null}
      {metricKeys.isError ? (
        <ErrorState
          title="Could not load the worker's metric keys"
          error={metricKeys.error}
          onRetry={() => void metricKeys.refetch()}
          retrying={metricKeys.isFetching}
        />
      ) : null}
      {metricKeys.isPending ? <LoadingState label="Loading metric keys…" /> : null}
    </>
  );
}

interface WorkerChartsProps extends WorkerPageProps {
  charts: readonly MetricChartDefinition[];
  metrics: readonly MetricKey[];
}

/** Renders the range picker, the split toggle and the charts of the reported metrics, by section. */
function WorkerCharts({ workerId, range, splitByVariant, charts, metrics }: WorkerChartsProps) {
  const stats = useWorkerStats({ workerId, range, metrics, splitByVariant });
  const statsData = stats.data;
  const chartData = useMemo(() => {
    const dataByTitle = new Map<string, ChartData>();
    if (!statsData) return dataByTitle;

    for (const chart of charts) {
      dataByTitle.set(chart.title, buildMetricChartData(statsData.metrics, chart.metrics, statsData.interval));
    }

    return dataByTitle;
  }, [charts, statsData]);

  let content: ReactNode;
  if (charts.length === 0) {
    content = (
      <EmptyState title="No machine stats yet">
        This worker has not sent a status report with machine stats. Charts appear once it does.
      </EmptyState>
    );
  } else if (stats.isPending) {
    content = <LoadingState label="Loading stats…" />;
  } else if (stats.isError && !statsData) {
    content = (
      <ErrorState
        title="Could not load the worker's stats"
        error={stats.error}
        onRetry={() => void stats.refetch()}
        retrying={stats.isFetching}
      />
    );
  } else if (statsData) {
    const fromMs = statsData.fromDate * 1000;
    const toMs = statsData.toDate * 1000;
    content = (
      <>
        {stats.isError ? (
          <StaleDataWarning
            error={stats.error}
            updatedAt={stats.dataUpdatedAt}
            onRetry={() => void stats.refetch()}
            retrying={stats.isFetching}
          />
        ) : null}
        <p className="toolbar-note">
          Average per {formatDuration(statsData.interval)} bucket over the last {TIME_RANGES[range].label}.
        </p>
        {METRIC_SECTIONS.map((section) => {
          const sectionCharts = charts.filter((chart) => chart.section === section);
          if (sectionCharts.length === 0) return null;
          const headingId = `section-${section.toLowerCase()}`;

          return (
            <section key={section} aria-labelledby={headingId} className="chart-section">
              <h2 id={headingId}>{section}</h2>
              <div className="chart-grid">
                {sectionCharts.map((chart) => (
                  <TimeSeriesChart
                    key={chart.title}
                    title={chart.title}
                    unit={chart.unit}
                    data={chartData.get(chart.title) ?? { series: [], rows: [], pointCount: 0 }}
                    fromMs={fromMs}
                    toMs={toMs}
                    yDomain={chart.yDomain}
                  />
                ))}
              </div>
            </section>
          );
        })}
      </>
    );
  }

  return (
    <div className="charts">
      <div className="toolbar">
        <TimeRangePicker value={range} onChange={(next) => updateSearchParams({ range: next }, 'push')} />
        <UrlCheckbox
          checked={splitByVariant}
          onChange={(checked) => updateSearchParams({ split: checked ? '1' : null }, 'push')}
        >
          One line per core or GPU
        </UrlCheckbox>
      </div>
      {content}
    </div>
  );
}
