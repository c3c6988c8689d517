import { redirect } from 'next/navigation';

// The workers table lives at the root; `/workers` is kept as a familiar address for it.
export default function WorkersIndexPage() {
  redirect('/');
}
