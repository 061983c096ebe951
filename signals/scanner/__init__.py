"""The VCP scanner, pure (no Django): panel -> trend template -> contractions -> candidate -> score, size."""
