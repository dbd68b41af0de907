// The view switcher: a WAI-ARIA tablist (arrow keys, Home and End move between tabs).
import { useRef } from 'react';

export interface TabItem<Id extends string> {
  id: Id;
  label: string;
}

export function Tabs<Id extends string>({ tabs, current, onChange }: { tabs: readonly TabItem<Id>[]; current: Id; onChange: (id: Id) => void }) {
  const refs = useRef(new Map<Id, HTMLButtonElement>());
  const move = (to: number) => {
    const tab = tabs[(to + tabs.length) % tabs.length];
    onChange(tab.id);
    refs.current.get(tab.id)?.focus();
  };
  const onKeyDown = (e: React.KeyboardEvent, index: number) => {
    const to = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    move(to);
  };
  return (
    <nav className="tabs" role="tablist" aria-label="Views">
      {tabs.map((t, i) => (
        <button
          key={t.id}
          ref={(el) => {
            if (el) refs.current.set(t.id, el);
          }}
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={t.id === current}
          aria-controls={`panel-${t.id}`}
          tabIndex={t.id === current ? 0 : -1}
          onClick={() => onChange(t.id)}
          onKeyDown={(e) => onKeyDown(e, i)}
        >
          {t.label}
        </button>
      ))}
    </nav>
  );
}
