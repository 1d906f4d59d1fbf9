#include "core/kernel.h"

#include <algorithm>
#include <set>

#include "core/fault_injection.h"

namespace vfiosim::core {

Kernel::Kernel(MachineConfig machine, KernelBehavior behavior)
    : machine_(std::move(machine)), behavior_(behavior), pasids_(kPasidSpaceBits, machine_.pasid_quota) {
  memlock_.limit.store(machine_.memlock_limit);
}

Kernel::~Kernel() = default;

// ---------------------------------------------------------------- construction

void Kernel::AddGroup(GroupId id) {
  MutexLock lock(mu_);
  auto& slot = groups_[id];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->id = id;
    slot->reserved = machine_.DefaultReservedRegions();
  }
}

Device* Kernel::AddDevice(GroupId group, std::string name, bool host_bound, uint32_t model_index,
                          bool vfio_bound) {
  AddGroup(group);
  MutexLock lock(mu_);
  auto device = std::make_unique<Device>();
  device->name = std::move(name);
  device->group = group;
  device->host_bound = host_bound;
  device->vfio_bound = vfio_bound;
  device->model_index = model_index;
  Device* raw = device.get();
  groups_[group]->devices.push_back(std::move(device));
  return raw;
}

void Kernel::SetGroupReservedRegions(GroupId id, std::vector<ReservedRegion> regions) {
  AddGroup(id);
  MutexLock lock(mu_);
  groups_[id]->reserved = std::move(regions);
}

void Kernel::SetHostBound(std::string_view device_name, bool host_bound) {
  MutexLock lock(mu_);
  for (auto& [id, g] : groups_) {
    for (auto& d : g->devices) {
      if (d->name == device_name) d->host_bound = host_bound;
    }
  }
}

std::vector<GroupId> Kernel::GroupIds() const {
  MutexLock lock(mu_);
  std::vector<GroupId> ids;
  for (const auto& [id, g] : groups_) ids.push_back(id);
  return ids;
}

std::vector<const Device*> Kernel::Devices() const {
  MutexLock lock(mu_);
  std::vector<const Device*> out;
  for (const auto& [id, g] : groups_) {
    for (const auto& d : g->devices) out.push_back(d.get());
  }
  return out;
}

std::vector<ReservedRegion> Kernel::GroupReservedRegions(GroupId id) const {
  MutexLock lock(mu_);
  const Group* g = FindGroupLocked(id);
  return g ? g->reserved : std::vector<ReservedRegion>{};
}

Group* Kernel::FindGroupLocked(GroupId id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const Group* Kernel::FindGroupLocked(GroupId id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------- container

std::shared_ptr<Container> Kernel::OpenContainer() {
  MutexLock lock(mu_);
  return std::make_shared<Container>(this, next_container_id_++);
}

// vfio_iommu_type1_check_extension with no instance: the answers it gives
// when polled by the container before SET_IOMMU.
bool Kernel::Type1Claims(long arg) const {
  switch (arg) {
    case kType1Iommu:
    case kType1v2Iommu:
      return true;
    case kUnmapAll:  // also VFIO_NESTING_IOMMU_UAPI in seed 001
      return behavior_.has_unmap_all || behavior_.vsva;
    case kType1NestingIommu:
      return behavior_.advertises_nesting_type;
    default:
      return false;
  }
}

long Kernel::CheckExtension(Container& c, long arg) {
  MutexLock lock(c.mu());
  Type1Iommu* iommu = c.iommu();
  if (Type1Claims(arg)) return 1;
  if (iommu == nullptr) return 0;  // polling: 4 and 10 need an instance
  switch (arg) {
    case kDmaCcIommu:
      return machine_.enforce_cache_coherency ? 1 : 0;
    case kUpdateVaddr:
      return behavior_.has_vaddr ? 1 : 0;
    default:
      return 0;
  }
}

Status Kernel::AttachAllLocked(Container& c, Type1Iommu& iommu) {
  for (GroupId id : c.groups_) {
    Status s = iommu.AttachGroup(id, groups_[id]->reserved);
    if (!s.ok()) return s;  // the caller drops the half-built instance
  }
  return Status::Ok();
}

// vfio_ioctl_set_iommu with type1 as the only registered driver (noiommu
// mode is off, as on the reference machine): ENODEV when type1 does not
// claim the value, else the result of its open + attaching every group.
Status Kernel::SetIommu(Container& c, long arg, PasidOwner owner) {
  MutexLock lock(mu_);
  MutexLock container_lock(c.mu());
  if (c.groups_.empty() || c.iommu() != nullptr) return Error(EINVAL);
  if (!Type1Claims(arg)) return Error(ENODEV);
  bool v2 = false;
  bool nesting = false;
  switch (arg) {
    case kType1Iommu: break;
    case kType1v2Iommu: v2 = true; break;
    case kType1NestingIommu: v2 = true; nesting = true; break;
    default: return Error(EINVAL);  // UNMAP_ALL is claimed but rejected by open
  }
  if (ShouldFail(FailSite::kObjectAlloc)) return Error(ENOMEM);
  auto iommu = std::make_unique<Type1Iommu>(v2, nesting, c.id(), machine_, behavior_, &memlock_);
  if (nesting) {
    // iommu_enable_nesting: only IOMMUs with two-stage support accept it
    // (VT-d gained it with the vSVA series).
    bool capable = machine_.nesting_capable ||
                   (behavior_.vsva && machine_.iommu_model == IommuModel::kIntelVtd);
    if (!capable) return Error(EINVAL);
  }
  VFIOSIM_RETURN_IF_ERROR(AttachAllLocked(c, *iommu));
  iommu->set_owner(owner);
  if (nesting) ++nesting_users_[owner];
  c.iommu_ = std::move(iommu);
  c.has_iommu_.store(true, std::memory_order_release);
  return Status::Ok();
}

// ---------------------------------------------------------------- group

Status Kernel::OpenGroupFile(GroupId id) {
  MutexLock lock(mu_);
  Group* g = FindGroupLocked(id);
  if (g == nullptr) return Error(ENODEV);
  if (g->file_open) return Error(EBUSY);
  g->file_open = true;
  return Status::Ok();
}

void Kernel::ReleaseGroupFile(GroupId id) {
  MutexLock lock(mu_);
  Group* g = FindGroupLocked(id);
  if (g == nullptr) return;
  if (g->container) DetachLocked(*g);
  g->file_open = false;
}

Result<GroupStatus> Kernel::GetGroupStatus(GroupId id) {
  MutexLock lock(mu_);
  Group* g = FindGroupLocked(id);
  if (g == nullptr) return Error(ENODEV);
  GroupStatus status;
  if (g->container) {
    status.viable = true;
    status.container_set = true;
  } else {
    status.viable = g->Viable();
  }
  return status;
}

Status Kernel::SetContainer(GroupId id, const std::shared_ptr<Container>& c) {
  MutexLock lock(mu_);
  Group* g = FindGroupLocked(id);
  if (g == nullptr) return Error(ENODEV);
  if (g->container) return Error(EINVAL);
  // iommu_group_claim_dma_owner fails while a host driver owns a device.
  if (!g->Viable()) return Error(EPERM);
  {
    MutexLock container_lock(c->mu());
    if (Type1Iommu* iommu = c->iommu()) VFIOSIM_RETURN_IF_ERROR(iommu->AttachGroup(id, g->reserved));
  }
  c->groups_.push_back(id);
  g->container = c;
  g->container_users = 1;
  attach_generation_.fetch_add(1, std::memory_order_acq_rel);
  return Status::Ok();
}

void Kernel::DetachLocked(Group& g) {
  Container& c = *g.container;
  {
    MutexLock container_lock(c.mu());
    c.groups_.erase(std::remove(c.groups_.begin(), c.groups_.end(), g.id), c.groups_.end());
    if (Type1Iommu* iommu = c.iommu()) {
      iommu->DetachGroup(g.id);
      // The last group out releases the driver instance and every mapping.
      if (c.groups_.empty()) ReleaseIommuLocked(c);
    }
  }
  g.container.reset();
  g.container_users = 0;
  attach_generation_.fetch_add(1, std::memory_order_acq_rel);
}

void Kernel::ReleaseIommuLocked(Container& c) {
  Type1Iommu* iommu = c.iommu_.get();
  if (iommu->nested() != nullptr) {
    // The process's vfio_mm goes with its last nesting container, and its PASIDs with it.
    auto it = nesting_users_.find(iommu->owner());
    if (it != nesting_users_.end() && --it->second == 0) {
      nesting_users_.erase(it);
      pasids_.ReleaseOwner(iommu->owner());
    }
  }
  c.has_iommu_.store(false, std::memory_order_release);
  c.iommu_.reset();
}

Status Kernel::UnsetContainer(GroupId id) {
  MutexLock lock(mu_);
  Group* g = FindGroupLocked(id);
  if (g == nullptr) return Error(ENODEV);
  if (!g->container) return Error(EINVAL);
  if (g->container_users != 1) return Error(EBUSY);
  DetachLocked(*g);
  return Status::Ok();
}

Result<Device*> Kernel::FindDevice(GroupId id, std::string_view request) {
  MutexLock lock(mu_);
  Group* g = FindGroupLocked(id);
  if (g == nullptr) return Error(ENODEV);
  for (auto& d : g->devices) {
    if (!d->vfio_bound) continue;  // only vfio-pci devices are reachable through the group
    Result<NameMatch> match = MatchPciDeviceName(*d, request);
    if (!match.ok()) return match.status();
    if (*match == NameMatch::kMatch) return d.get();
  }
  return Error(ENODEV);
}

Status Kernel::OpenDevice(Device* device) {
  MutexLock lock(mu_);
  Group* g = FindGroupLocked(device->group);
  if (g == nullptr || !g->container) return Error(EINVAL);
  if (device->open_count == 0) {
    if (!g->container->HasIommu()) return Error(EINVAL);
    ++g->container_users;
  }
  ++device->open_count;
  return Status::Ok();
}

void Kernel::CloseDevice(Device* device) {
  MutexLock lock(mu_);
  if (device->open_count == 0) return;
  if (--device->open_count == 0) {
    Group* g = FindGroupLocked(device->group);
    if (g != nullptr && g->container_users > 0) --g->container_users;
  }
}

bool Kernel::GroupFileOpen(GroupId id) const {
  MutexLock lock(mu_);
  const Group* g = FindGroupLocked(id);
  return g != nullptr && g->file_open;
}

uint32_t Kernel::ContainerUsers(GroupId id) const {
  MutexLock lock(mu_);
  const Group* g = FindGroupLocked(id);
  return g ? g->container_users : 0;
}

std::shared_ptr<Container> Kernel::GroupContainer(GroupId id) const {
  MutexLock lock(mu_);
  const Group* g = FindGroupLocked(id);
  return g ? g->container : nullptr;
}

}  // namespace vfiosim::core

namespace vfiosim::core {

// ---------------------------------------------------------------- vSVA

Result<NestedDomain*> Kernel::NestedLocked(Container& c) {
  Type1Iommu* iommu = c.iommu();
  if (iommu == nullptr) return Error(EINVAL);
  if (iommu->nested() == nullptr) return Error(EOPNOTSUPP);
  return iommu->nested();
}

Result<Pasid> Kernel::PasidAlloc(Container& c, PasidOwner owner, Pasid min, Pasid max) {
  {
    MutexLock lock(c.mu());
    Result<NestedDomain*> nested = NestedLocked(c);
    if (!nested.ok()) return nested.status();
  }
  return pasids_.Alloc(owner, min, max);
}

Status Kernel::PasidFree(Container& c, PasidOwner owner, Pasid pasid) {
  MutexLock lock(mu_);
  {
    MutexLock container_lock(c.mu());
    Result<NestedDomain*> nested = NestedLocked(c);
    if (!nested.ok()) return nested.status();
  }
  VFIOSIM_RETURN_IF_ERROR(pasids_.Free(owner, pasid));
  // A freed PASID leaves every binding, in whichever container of the
  // machine it was bound (another process may allocate the number next).
  std::set<Container*> seen;
  for (auto& [id, g] : groups_) {
    Container* other = g->container.get();
    if (other == nullptr || !seen.insert(other).second) continue;
    MutexLock container_lock(other->mu());
    Type1Iommu* iommu = other->iommu();
    if (iommu != nullptr && iommu->nested() != nullptr && iommu->nested()->IsBound(pasid)) {
      (void)iommu->nested()->Unbind(pasid, iommu->iotlb());
    }
  }
  return Status::Ok();
}

Status Kernel::BindGuestTable(Container& c, PasidOwner owner, Pasid hpasid, const GuestBinding& binding) {
  MutexLock lock(c.mu());
  Result<NestedDomain*> nested = NestedLocked(c);
  if (!nested.ok()) return nested.status();
  VFIOSIM_RETURN_IF_ERROR(pasids_.CheckOwner(hpasid, owner));
  return (*nested)->Bind(hpasid, binding, c.iommu()->iotlb());
}

Status Kernel::UnbindGuestTable(Container& c, PasidOwner owner, Pasid hpasid) {
  MutexLock lock(c.mu());
  Result<NestedDomain*> nested = NestedLocked(c);
  if (!nested.ok()) return nested.status();
  VFIOSIM_RETURN_IF_ERROR(pasids_.CheckOwner(hpasid, owner));
  return (*nested)->Unbind(hpasid, c.iommu()->iotlb());
}

Status Kernel::CacheInvalidate(Container& c, const CacheInvalidation& inv) {
  MutexLock lock(c.mu());
  Result<NestedDomain*> nested = NestedLocked(c);
  if (!nested.ok()) return nested.status();
  (*nested)->Invalidate(inv, c.iommu()->iotlb());
  return Status::Ok();
}

}  // namespace vfiosim::core
