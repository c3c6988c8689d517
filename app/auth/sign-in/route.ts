import { handleSignIn } from '@/lib/auth/dashboard';

// POST /auth/sign-in: the sign-in form sets the session cookie here.
export const dynamic = 'force-dynamic';

export const POST = handleSignIn;
