/** Renders tags as chips, with system tags dimmed. React escapes them, so any characters are safe. */
export function TagList({ tags, systemTags = [] }: { tags: readonly string[]; systemTags?: readonly string[] }) {
  if (tags.length === 0 && systemTags.length === 0) return <span className="muted">none</span>;

  return (
    <ul className="tag-list">
      {tags.map((tag) => (
        <li key={`tag:${tag}`} className="tag">
          {tag}
        </li>
      ))}
      {systemTags.map((tag) => (
        <li key={`system:${tag}`} className="tag tag-system" title="system tag">
          {tag}
        </li>
      ))}
    </ul>
  );
}
