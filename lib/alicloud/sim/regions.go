package sim

// DefaultRegions returns the public Alibaba Cloud region ids the emulator knows by default: the
// regions of the OSS "Regions and endpoints" page and the ECS region list (2025), without the
// regions that have closed (ap-south-1 Mumbai, ap-southeast-2 Sydney). cn-nanjing and cn-fuzhou are
// Local Regions being decommissioned but still answer; cn-wuhan-lr is the Wuhan Local Region.
// 29 regions: a fan-out from one of them reaches 28 others.
func DefaultRegions() []string {
	return []string{
		// Chinese mainland
		"cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu",
		"cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr",
		"cn-shenzhen", "cn-heyuan", "cn-guangzhou", "cn-chengdu",
		// Hong Kong and Asia Pacific
		"cn-hongkong", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-3",
		"ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
		// Europe and Americas
		"us-east-1", "us-west-1", "na-south-1", "eu-west-1", "eu-central-1",
		// Middle East
		"me-east-1", "me-central-1",
	}
}
