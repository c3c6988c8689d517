import { handleApiRoute } from '@/lib/api/http';

// GET|POST|PUT /api/[v<major>.<minor>/]<service>.<action>: the ClearML-style API.
// Other methods get a 405 envelope from the dispatcher.
export const dynamic = 'force-dynamic';

export const GET = handleApiRoute;
export const POST = handleApiRoute;
export const PUT = handleApiRoute;
export const DELETE = handleApiRoute;
export const PATCH = handleApiRoute;
