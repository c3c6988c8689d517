'use client';

import { useEffect, useState } from 'react';

import { TIME_RANGES, type TimeRangeKey } from '@/lib/client/time-range';

interface TimeRangePickerProps {
  value: TimeRangeKey;
  onChange: (range: TimeRangeKey) => void;
}

/** Renders one radio button per range in TIME_RANGES, styled as a segmented control. */
export function TimeRangePicker({ value, onChange }: TimeRangePickerProps) {
  // The URL, and so `value`, changes in a React transition after the click: the local
  // state shows the choice at once instead of the old range until then.
  const [selected, setSelected] = useState(value);
  useEffect(() => setSelected(value), [value]);

  const ranges = Object.entries(TIME_RANGES) as [TimeRangeKey, (typeof TIME_RANGES)[TimeRangeKey]][];

  return (
    <fieldset className="segmented">
      <legend className="visually-hidden">Time range</legend>
      {ranges.map(([key, range]) => (
        <label key={key} className="segmented-option">
          <input
            type="radio"
            name="time-range"
            value={key}
            checked={key === selected}
            onChange={() => {
              setSelected(key);
              onChange(key);
            }}
          />
          <span>{range.label}</span>
        </label>
      ))}
    </fieldset>
  );
}
