'use client';

import { useEffect, useState } from 'react';

/** Returns the current time in milliseconds and re-renders the caller every `periodMs`. */
export function useNow(periodMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), periodMs);

    return () => clearInterval(timer);
  }, [periodMs]);

  return now;
}
