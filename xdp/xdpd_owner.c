/* nanoweb-xdpd: the single-writer rule (see xdpd_owner.h). */
#include "xdpd_owner.h"
#include "nanoweb_xdp_proto.h"

void xdpd_owner_init(struct xdpd_owner *o, bool adopted, time_t now,
		     unsigned grace_s)
{
	o->id = 0;
	o->pid = 0;
	o->inherit_until = adopted ? now + (time_t)grace_s : 0;
	if (adopted && o->inherit_until == 0)
		o->inherit_until = 1;
}

bool xdpd_owner_writes(unsigned t)
{
	return t == NWX_MSG_SET_PORTS || t == NWX_MSG_BEGIN ||
	       t == NWX_MSG_PUT || t == NWX_MSG_DELETE || t == NWX_MSG_COMMIT;
}

enum xdpd_claim xdpd_owner_claim(struct xdpd_owner *o, uint64_t id,
				 int32_t pid, time_t now)
{
	bool inherit;

	if (id == 0)
		return XDPD_CLAIM_BUSY; /* not a connection */
	if (o->id == id)
		return XDPD_CLAIM_OWNER;
	if (o->id != 0)
		return XDPD_CLAIM_BUSY;
	inherit = o->inherit_until && now < o->inherit_until;
	o->inherit_until = 0; /* the adopted state is claimed or dropped now */
	o->id = id;
	o->pid = pid;
	return inherit ? XDPD_CLAIM_INHERIT : XDPD_CLAIM_NEW;
}

bool xdpd_owner_release(struct xdpd_owner *o, uint64_t id)
{
	if (id == 0 || o->id != id)
		return false;
	o->id = 0;
	o->pid = 0;
	return true;
}

bool xdpd_owner_expire(struct xdpd_owner *o, time_t now)
{
	if (!o->inherit_until || now < o->inherit_until)
		return false;
	o->inherit_until = 0;
	return o->id == 0;
}
