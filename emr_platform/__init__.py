"""emr-platform: Amazon EMR data platforms on the AWS CDK v2.

- :mod:`emr_platform.constructs`: reusable constructs (storage, network, catalog, roles, security, cluster);
- :mod:`emr_platform.stacks`: one stack per environment, composed from a settings file;
- :mod:`emr_platform.spec.settings`: the settings schema and loader; :mod:`emr_platform.spec.cluster`,
  :mod:`emr_platform.spec.capacity` and :mod:`emr_platform.spec.releases`: the typed cluster spec.
"""

from emr_platform.spec.capacity import (
    AutoScalingSpec,
    CapacityReservationSpec,
    EbsVolumeSpec,
    FleetInstanceType,
    InstanceFleetSpec,
    InstanceFleetsSpec,
    InstanceGroupSpec,
    InstanceGroupsSpec,
    ManagedScalingSpec,
    OnDemandSpec,
    ResizeSpec,
    ScalingRuleSpec,
    SpotSpec,
)
from emr_platform.spec.cluster import BootstrapActionSpec, EmrClusterSpec
from emr_platform.spec.configuration import ConfigurationSpec
from emr_platform.spec.errors import EmrPlatformError, PropError, SettingsError
from emr_platform.spec.releases import EmrRelease

__version__ = "0.2.0"

__all__ = [
    "AutoScalingSpec",
    "BootstrapActionSpec",
    "CapacityReservationSpec",
    "ConfigurationSpec",
    "EbsVolumeSpec",
    "EmrClusterSpec",
    "EmrPlatformError",
    "EmrRelease",
    "FleetInstanceType",
    "InstanceFleetSpec",
    "InstanceFleetsSpec",
    "InstanceGroupSpec",
    "InstanceGroupsSpec",
    "ManagedScalingSpec",
    "OnDemandSpec",
    "PropError",
    "ResizeSpec",
    "ScalingRuleSpec",
    "SettingsError",
    "SpotSpec",
    "__version__",
]
