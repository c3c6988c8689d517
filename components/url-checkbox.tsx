'use client';

import { useEffect, useState, type ReactNode } from 'react';

interface UrlCheckboxProps {
  checked: boolean;
  onChange: (checked: boolean) => void;
  children: ReactNode;
}

/**
 * Renders a labelled checkbox whose value lives in the URL. The URL, and so `checked`,
 * changes in a React transition after the click: the local state shows the change at once.
 */
export function UrlCheckbox({ checked, onChange, children }: UrlCheckboxProps) {
  const [selected, setSelected] = useState(checked);
  useEffect(() => setSelected(checked), [checked]);

  return (
    <label className="toggle">
      <input
        type="checkbox"
        checked={selected}
        onChange={(event) => {
          setSelected(event.target.checked);
          onChange(event.target.checked);
        }}
      />
      {children}
    </label>
  );
}
