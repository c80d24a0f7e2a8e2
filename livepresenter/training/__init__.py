"""Fine-tuning FOMM on a lecturer's own footage (`livepresenter train`)."""
