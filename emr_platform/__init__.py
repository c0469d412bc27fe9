"""emr-platform: Amazon EMR data platforms on the AWS CDK v2.

- :mod:`emr_platform.constructs`: reusable constructs (storage, network, catalog, roles, security, cluster);
- :mod:`emr_platform.stacks`: one stack per environment, composed from a settings file;
- :mod:`emr_platform.settings`: the settings schema and loader; :mod:`emr_platform.cluster_spec`,
  :mod:`emr_platform.capacity` and :mod:`emr_platform.releases`: the typed cluster spec.
"""

from emr_platform.capacity import (
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
from emr_platform.cluster_spec import BootstrapActionSpec, EmrClusterSpec
from emr_platform.configuration import ConfigurationSpec
from emr_platform.errors import EmrPlatformError, PropError, SettingsError
from emr_platform.releases import EmrRelease

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
