"""`learncal tenant-probe`: measure, in an organisation's own test tenant, what the sandbox has to assume.

The sandbox takes the worst plausible case wherever Microsoft's documentation is silent. The
probe asks the real tenant instead, with one test mailbox and one test attendee the operator
names, and writes the answers as a tenant profile that `learncal sandbox --profile` loads.
"""

from shared.probe.profile import PROFILE_KIND, PROFILE_VERSION, TenantProfile, realism_from
from shared.probe.runner import ProbeTarget, run_probe

__all__ = ["PROFILE_KIND", "PROFILE_VERSION", "ProbeTarget", "TenantProfile", "realism_from", "run_probe"]
