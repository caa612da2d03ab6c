"""The models being served: following the registry's alias, checking, swapping, disk copies."""
