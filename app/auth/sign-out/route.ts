import { handleSignOut } from '@/lib/auth/dashboard';

// POST /auth/sign-out: the navigation's sign-out button deletes the session cookie here.
export const dynamic = 'force-dynamic';

export const POST = handleSignOut;
