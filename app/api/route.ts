import { handleApiRoute } from '@/lib/api/http';

// /api with no endpoint name: the dispatcher returns the 404 envelope.
export const dynamic = 'force-dynamic';

export const GET = handleApiRoute;
export const POST = handleApiRoute;
export const PUT = handleApiRoute;
export const DELETE = handleApiRoute;
export const PATCH = handleApiRoute;
